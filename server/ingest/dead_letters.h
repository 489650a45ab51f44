// A stream source's dead-letter stream: entries pantryd could not ingest
// (stream_consumer.h), each with the source, the entry's id in the source's
// stream, the reason and when, then the entry's own fields:
//
//   pantry.source S  pantry.entry_id ID  pantry.reason TEXT  pantry.at RFC3339  <fields...>
//
// Listing reads it; replaying feeds entries back into the source's stream as
// new entries with their own fields (after the producer or the repository
// was fixed) and deletes them from the dead-letter stream.
#ifndef PANTRY_SERVER_INGEST_DEAD_LETTERS_H_
#define PANTRY_SERVER_INGEST_DEAD_LETTERS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

struct DeadLetterEntry {
  std::string id;        // in the dead-letter stream
  std::string entry_id;  // in the source's stream
  std::string reason;
  std::string at;
  std::vector<std::pair<std::string, std::string>> fields;  // the entry's own
};

struct DeadLetterPage {
  std::string stream;  // the dead-letter stream's key
  int64_t total = 0;   // its length
  std::vector<DeadLetterEntry> entries;
};

// Up to `limit` dead letters of `source` after id `after` ("" : from the
// start). INVALID_ARGUMENT: unknown or not a stream source; UNAVAILABLE.
absl::StatusOr<DeadLetterPage> ListDeadLetters(const Registry& registry,
                                               const std::string& source, int limit,
                                               const std::string& after);

struct ReplayResult {
  int64_t replayed = 0;
  int64_t missing = 0;  // ids not (or no longer) in the dead-letter stream
};

// Replays the dead letters `ids` of `source` (empty: all those in the
// dead-letter stream when the call starts, oldest first, at most `limit` when
// it is above 0; an entry still bad comes back as a new dead letter, which
// this call does not replay again). Each is added to the source's stream and
// deleted from the dead-letter stream in one script when the two keys share
// a hash slot (always on a single Redis, and for the default dead-letter
// name), else added, then deleted. Errors as ListDeadLetters.
absl::StatusOr<ReplayResult> ReplayDeadLetters(const Registry& registry, const std::string& source,
                                               const std::vector<std::string>& ids, int limit);

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_DEAD_LETTERS_H_
