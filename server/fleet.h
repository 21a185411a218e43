/* SPDX-License-Identifier: MIT */
/*
 * fleet.h -- a node of a fleet of r53d on etcd (spec/FLEET.md; issue 13).
 *
 * The daemon (daemon.c) keeps its change path; with an etcd store this module adds:
 *   - the feed: every revision etcd's watch delivers is queued here (its keys outside
 *     /live/ as parsed documents) until the control thread applies the queue to the model
 *     and builds one snapshot for it (fleet_take); /live/ keys are the fleet's own state;
 *   - writes: fleet_commit turns an API transaction into one guarded etcd transaction (the
 *     writer applies it only when the watch delivers it, like every node);
 *   - membership: once caught up, the node puts /live/node/NODE = {"region", "applied"}
 *     on a lease of its own (kept alive from the control loop) and updates "applied" as it
 *     applies revisions (at most every FLEET_PUBLISH_MS);
 *   - INSYNC: a change's revision R is in sync once every live node has applied R.
 *
 *   - health: the node's checkers' views of each check are published under its lease and
 *     the other nodes' fresh votes are counted in the 18% rule (fleet_set_health).
 *
 * Keys (store keys; etcd adds store.etcd.prefix; the model ignores /live/):
 *   /live/node/NODE    {"region": R, "applied": REV, "at": UNIX_MS}   on NODE's lease;
 *                      "at" is the heartbeat (every 2 s)
 *   /live/hc/ID/NODE   {"k": CHECKERS, "healthy": N, "obs": [observations, Region = the
 *                      node's region label]}                           on NODE's lease
 *
 * Thread notes: control thread only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "hc.h"
#include "model.h"
#include "store.h"

struct event_base;

typedef struct fleet fleet_t;

/** Open the etcd store that c->store_etcd names (does not contact etcd). */
int fleet_open_store(const conf_t *c, store_t **st, char *err, size_t errlen);

/** Called when there is something for the control thread to do (queued revisions, a resync,
 *  a wait that ended): the daemon runs its work queue. */
typedef void (*fleet_kick_fn)(void *ctx);

/**
 * A fleet node on store st (borrowed; etcd). load_rev: the revision the model was loaded at.
 * \retval ERR_OK, ERR_NOMEM.
 */
int fleet_new(store_t *st, const conf_t *c, uint64_t load_rev, fleet_t **out);

/**
 * Start on the control loop: read /live/, start the feed from load_rev + 1, register.
 * \retval ERR_OK, ERR_IO (etcd unreachable: err says so), ERR_NOMEM.
 */
int fleet_start(fleet_t *f, struct event_base *base, fleet_kick_fn kick, void *ctx, char *err,
		size_t errlen);

/** Stop the feed, revoke the lease (the node's keys vanish at once), free. NULL: nothing. */
void fleet_free(fleet_t *f);

/** Revisions wait to be applied, or a resync is needed. */
bool fleet_pending(const fleet_t *f);

/** A resync is needed (compaction): fleet_resync_done after reloading. */
bool fleet_resync_needed(const fleet_t *f);

/** The revision to feed from after a reload of everything at rev. */
int fleet_resync_done(fleet_t *f, uint64_t rev);

/**
 * Move every queued revision into t (puts and deletes, later ones replacing earlier ones),
 * record each change's revision in m->change_gen, and give the highest revision delivered
 * so far (*rev): once t is applied, the node has applied *rev.
 * \retval ERR_OK, ERR_NOMEM.
 */
int fleet_take(fleet_t *f, model_t *m, model_txn_t *t, uint64_t *rev);

/** The node has applied (and serves) every revision up to rev; cfg: some of them changed the
 *  model (publish it to the fleet). */
void fleet_applied(fleet_t *f, uint64_t rev, bool cfg);

/** The last revision this node has applied. */
uint64_t fleet_applied_rev(const fleet_t *f);

/**
 * Commit t (not applied to m: m is the state it was validated against) as one etcd txn
 * guarded by the revisions of the zones, health checks, collections, changes and caller
 * references it touches.
 * \param rev   the commit's revision.
 * \param wait  on ERR_CONFLICT: the revision to apply before trying again.
 * \retval ERR_OK, ERR_CONFLICT, ERR_IO (etcd unavailable), ERR_LIMIT, ERR_NOMEM.
 */
int fleet_commit(fleet_t *f, model_t *m, model_txn_t *t, uint64_t *rev, uint64_t *wait);

/** INSYNC: every live node (this one included) has applied rev. */
bool fleet_insync(const fleet_t *f, uint64_t rev);

/** Health votes: publish this node's checkers' views of hc's checks under the node's lease
 *  (/live/hc/ID/NODE = {"k", "healthy", "obs"}, written when a check's count of healthy
 *  views changes; the node key's "at" is the heartbeat, every 2 s), and count the fresh
 *  votes of the other nodes in hc's 18% rule (hc_remote_set). hc borrowed; NULL: none. */
void fleet_set_health(fleet_t *f, hc_system_t *hc);

/** For logs and /metrics: live nodes known, whether this node is registered. */
size_t fleet_nodes(const fleet_t *f, bool *registered);
