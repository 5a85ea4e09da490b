/* core/config-core.h - the first include of every core .c file. */
#ifndef POCZTA_CORE_CONFIG_CORE_H
#define POCZTA_CORE_CONFIG_CORE_H
#ifdef HAVE_CONFIG_H
#include "build-config.h"
#endif
#endif
