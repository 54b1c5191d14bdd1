/*
 * The table of filters compiled at build time, empty: used where the build
 * cannot run what it builds (a cross build, sandbox/meson.build), so that
 * every filter is compiled at run time (seccomp.c).
 */
#include "sandbox/internal.h"

const struct cg_seccomp_prebuilt cg_seccomp_prebuilt[1];
const size_t cg_seccomp_prebuilt_n = 0;
