// Status helpers shared by every Pantry module.
//
// Debian's Abseil ships no RETURN_IF_ERROR / ASSIGN_OR_RETURN, so Pantry has
// its own. Every module boundary returns absl::Status or absl::StatusOr<T>.
#ifndef PANTRY_SERVER_COMMON_STATUS_H_
#define PANTRY_SERVER_COMMON_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PANTRY_STATUS_CONCAT_INNER_(a, b) a##b
#define PANTRY_STATUS_CONCAT_(a, b) PANTRY_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define PANTRY_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    ::absl::Status pantry_status_ = (expr);            \
    if (!pantry_status_.ok()) return pantry_status_;   \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define PANTRY_ASSIGN_OR_RETURN(lhs, rexpr) \
  PANTRY_ASSIGN_OR_RETURN_IMPL_(PANTRY_STATUS_CONCAT_(pantry_statusor_, __LINE__), lhs, rexpr)

#define PANTRY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace pantry {

// Returns `status` with `prefix: ` put before its message; the code is kept.
absl::Status Annotate(const absl::Status& status, absl::string_view prefix);

}  // namespace pantry

#endif  // PANTRY_SERVER_COMMON_STATUS_H_
