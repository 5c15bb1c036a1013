// The "check path" action: reads the store index at a model profiles path and reports what a
// deployment would find there (files, bytes, the profiles recorded by download-to-cache and
// whether each one's files are all in the index), or says why it cannot (no such store, no
// index: an unfinished push, wrong credentials, ...). It reads only the index and the small
// profile records, never the weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "store/store_factory.h"

namespace airlock::manager {

struct PathProfile {
  std::string id;
  std::string description;
  std::string model;
  Json tags = Json::object();
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t missing_files = 0;  // listed by the record but absent from the index
};

struct PathCheck {
  std::string uri;  // as displayed (no credentials)
  bool ok = false;  // an index was read
  std::string message;  // what was found, or why nothing was
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t symlinks = 0;
  std::vector<PathProfile> profiles;
  std::vector<std::string> problems;  // profile records that could not be read

  Json to_json() const;
};

// Never fails: what went wrong is the answer (ok = false with the reason in `message`), apart
// from an invalid URI, which is a kInvalidArgument error.
Result<PathCheck> check_model_profiles_path(const std::string& uri, const store::StoreConfig& config);

}  // namespace airlock::manager
