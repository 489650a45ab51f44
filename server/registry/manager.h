// RegistryManager: applies new feature repositories to a running pantryd.
//
// Apply validates the new repository completely before anything changes;
// then persists it (temp file, fsync, rename) in the state directory and
// swaps the published snapshot. An invalid repository changes nothing and the
// old one keeps serving. Thread-safe: applies are serialized.
//
// Checks beyond the YAML (the data sources' Parquet files) come in as a
// RepositoryValidator, so the registry library does not depend on the
// offline store: server/main.cc passes offline::ValidateSources.
#ifndef PANTRY_SERVER_REGISTRY_MANAGER_H_
#define PANTRY_SERVER_REGISTRY_MANAGER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "server/registry/registry.h"

namespace pantry {

// Checks a parsed repository further; OK, or InvalidArgument listing every
// problem one per line. Must be safe to call from any thread.
using RepositoryValidator = std::function<absl::Status(const Registry&)>;

// Told the outcome of every Apply and ApplyFile: the repository it installed,
// or why it was rejected. Called with the manager's lock held (so in the
// order applies happen), after the swap; it must not call back into the
// manager.
using ApplyObserver = std::function<void(const absl::StatusOr<std::shared_ptr<const Registry>>&)>;

class RegistryManager {
 public:
  // `holder` is borrowed. `state_dir` holds the last applied repository
  // (created when missing). `validator` (may be empty: no further checks)
  // runs on every repository Apply would install. `observer` (may be empty)
  // is told every apply's outcome.
  RegistryManager(RegistryHolder* holder, std::string state_dir,
                  RepositoryValidator validator = nullptr, ApplyObserver observer = nullptr)
      : holder_(holder),
        state_dir_(std::move(state_dir)),
        validator_(std::move(validator)),
        observer_(std::move(observer)) {}

  // The repository pantryd starts with: the last applied one in `state_dir`
  // when there is one, else the file at `config_path`. Either must parse and
  // pass `validator` (when given); its error is returned otherwise.
  static absl::StatusOr<std::shared_ptr<const Registry>> LoadInitial(
      const std::string& config_path, const std::string& state_dir,
      const RepositoryValidator& validator = nullptr);

  // Parses, validates (YAML, then the validator) and installs.
  // InvalidArgument listing every problem; FailedPrecondition when the
  // online store section differs from the one pantryd runs with (switching
  // stores takes a restart); Internal when the state cannot be persisted.
  // Nothing changes on any error.
  absl::StatusOr<std::shared_ptr<const Registry>> Apply(absl::string_view yaml,
                                                        absl::string_view source_name,
                                                        absl::string_view base_dir);

  // Re-reads a repository file (SIGHUP) and applies it; NotFound when it
  // cannot be read.
  absl::StatusOr<std::shared_ptr<const Registry>> ApplyFile(const std::string& path);

 private:
  // Apply's work; mu_ held.
  absl::StatusOr<std::shared_ptr<const Registry>> Install(absl::string_view yaml,
                                                          absl::string_view source_name,
                                                          absl::string_view base_dir);
  // Tells the observer; mu_ held.
  absl::StatusOr<std::shared_ptr<const Registry>> Observed(
      absl::StatusOr<std::shared_ptr<const Registry>> outcome);

  RegistryHolder* holder_;
  std::string state_dir_;
  RepositoryValidator validator_;
  ApplyObserver observer_;
  std::mutex mu_;
};

}  // namespace pantry

#endif  // PANTRY_SERVER_REGISTRY_MANAGER_H_
