/* subq: MPI-distributed sketching attention and KDE kernel-matrix algorithms.
 * One header per module under include/subq/. */
#ifndef SUBQ_H
#define SUBQ_H
#include "subq/core.h"
#include "subq/comm.h"
#include "subq/opts.h"
#include "subq/io.h"
#include "subq/dist.h"
#include "subq/device.h"
#include "subq/bench.h"
#include "subq/kv.h"
#include "subq/sketch.h"
#include "subq/attn.h"
#include "subq/quant.h"
#include "subq/kde.h"
#include "subq/levatt.h"
#include "subq/graph.h"
#endif
