/* SPDX-License-Identifier: MIT */
/* main.c -- placeholder */
int main(void) { return 0; }
