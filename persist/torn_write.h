// Tests only: what a power cut in the middle of LMDB's next commit could leave in a shard's data
// file (DATA/shard-K/data.mdb), for the crash-durability checker (tests/crash_check.cc).
//
// LMDB's crash model (lmdb.h, "Caveats"; mdb.c, mdb_txn_commit and mdb_page_alloc): pages are
// copy-on-write. A commit writes its new pages, either pages past the last page of the newest
// snapshot (the file grows) or pages on the free list that no live snapshot can reach, flushes
// them, and only then writes one of the two meta pages (alternating by transaction id). The
// meta record sits in the first sector of its page, so that write lands whole or not at all.
// The newest two snapshots stay intact: the next commit may reuse only pages freed by a
// transaction older than the newest one (mdb_find_oldest: txnid - 1 with no readers). A power
// cut during a commit therefore leaves garbage only in such pages, with both metas as they
// were, and a correct reader must not notice it.
//
// LMDB assumes a sector write is atomic; a device whose write buffer loses power mid-sector
// breaks that (Howard Chu on openldap-bugs: the meta page write can be corrupted in the device
// at a power failure), leaving the newest meta page garbled: kMeta. LMDB 0.9 then
// refuses the file although the other meta page still holds every acknowledged write, so
// parleyd must refuse too and name the damage (the operator restores from a backup).
//
// Not simulated: the newest meta page never reaching the disk (parley's kSync runs with
// MDB_NOMETASYNC and acknowledges a commit only after a later flush covered its meta; from
// outside a SIGKILLed process we cannot tell whether that flush happened, so undoing the newest
// commit could undo an acknowledged write that a real power cut would have kept).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "core/error.h"

namespace parley::persist {

enum class TornCommit {
  // Whole and partly written (sector by sector) garbage pages past the newest snapshot's last
  // page: a commit that was growing the file.
  kTail,
  // Garbage sectors in free pages the next commit could have reused: a commit that was
  // overwriting freed pages in place.
  kFreePages,
  // Garbage over the start of the newest meta page (its record, in the first sector).
  kMeta,
};

struct TornWriteReport {
  std::string what;  // for people: which pages, e.g. "3 pages past page 41 (torn tail)"
  uint64_t pages = 0;
  // kMeta: the sector as it was, so that UndoTornMeta can stand in for a restore from backup.
  uint64_t meta_offset = 0;
  std::string meta_sector;
};

// Damages `shard_dir`/data.mdb as a power cut during the next commit could. The environment must
// not be open (its parleyd is dead). kNotFound (nothing done) for kFreePages when no page is free
// for reuse yet. `rng` chooses the pages, sectors and bytes, so a seed reproduces a run.
Result<TornWriteReport> SimulateTornCommit(const std::string& shard_dir, TornCommit kind,
                                           std::mt19937_64& rng);

// Puts back the meta sector a kMeta report saved.
Status UndoTornMeta(const std::string& shard_dir, const TornWriteReport& report);

}  // namespace parley::persist
