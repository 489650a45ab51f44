// Paths a caller names for pantryd to read or write on its behalf (the
// entity file and the output of a server-path point-in-time join): with auth
// on they must lie within the folders the auth configuration allows
// (`files: {read_roots, write_roots}`), after every symlink is resolved.
#ifndef PANTRY_SERVER_AUTH_PATHS_H_
#define PANTRY_SERVER_AUTH_PATHS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/registry/registry.h"

namespace pantry::auth {

// The resolved path of an existing regular file under one of `roots`, for
// reading. InvalidArgument for a relative path or one with a ".." part;
// PermissionDenied naming the path when it resolves outside every root
// (through a symlink or not) or is not a regular file (a device, a fifo,
// a folder); NotFound when it does not exist.
absl::StatusOr<std::string> ConfineRead(absl::string_view path,
                                        const std::vector<std::string>& roots);

// The same for a file to write: its folder must exist and resolve under a
// root; the file itself, when it exists, must be a regular file and not a
// symlink.
absl::StatusOr<std::string> ConfineWrite(absl::string_view path,
                                         const std::vector<std::string>& roots);

// With auth on, what a repository applied through the API may point
// pantryd at: the same offline store and lineage file as the running one
// (they are written), and file sources within `roots` (or that offline
// store) once resolved. PermissionDenied naming the source or the path
// otherwise. A source path that does not exist is left to validation.
absl::Status CheckAppliedPaths(const Registry& running, const Registry& applied,
                               const std::vector<std::string>& roots);

}  // namespace pantry::auth

#endif  // PANTRY_SERVER_AUTH_PATHS_H_
