/* poczta/poczta.h - everything a module needs: include this one header. */
#ifndef POCZTA_POCZTA_H
#define POCZTA_POCZTA_H

#include <poczta/types.h>
#include <poczta/module.h>
#include <poczta/protocol.h>
#include <poczta/auth.h>
#include <poczta/search.h>
#include <poczta/storage.h>
#include <poczta/filter.h>
#include <poczta/mail.h>
#include <poczta/host.h>

#endif
