// `pantry audit`: the records of pantryd's audit log (a JSON-lines file and
// its rotated files, on the host pantryd writes them), filtered.
#pragma once

#include <string>

namespace pantry::cli {

struct AuditQuery {
  std::string file;       // the audit log's path (audit.path of the auth configuration)
  std::string since;      // RFC 3339, or a duration back from now ("1h", "7d"); empty: all
  std::string principal;  // empty: any
  std::string action;     // empty: any
  std::string outcome;    // allowed, denied, unauthenticated; empty: any
  int limit = 0;          // the last N matching; 0: all
  bool json = false;
};

// Exit code: 0; 2 for a bad --since or a log that cannot be read.
int Audit(const AuditQuery& query);

}  // namespace pantry::cli
