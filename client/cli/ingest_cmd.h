// `pantry ingest status`, `ingest dead-letters` and `ingest replay`: stream
// sources through pantryd.
#pragma once

#include <string>
#include <vector>

#include "pantry/client.h"

namespace pantry::cli {

// Each returns the exit code: 0; 1 when the call failed.
int IngestStatus(Client& client, bool json);
int DeadLetters(Client& client, const std::string& source, int limit, bool json);
// `ids` empty: all (at most `limit` when above 0).
int ReplayDeadLetters(Client& client, const std::string& source,
                      const std::vector<std::string>& ids, int limit, bool json);

}  // namespace pantry::cli
