// The store conformance suite: what every backend must do, run against a real server. A
// backend joins by implementing ConformanceBackend and instantiating the suite:
//
//   INSTANTIATE_TEST_SUITE_P(S3, StoreConformance, ::testing::Values(BackendMaker{"s3", s3_backend}),
//                            [](const auto& param_info) { return param_info.param.name; });
//
// Covered: write/stat/read/delete, ranged and parallel ranged reads (in order; a cancel stops them), list paging with
// directory semantics ("a/" never matches "a-b/"), large multipart writes, the index round trip
// through push and pull with symlinks, resuming a partial pull, a corrupt object never accepted,
// hostile indexes (.., absolute paths, symlinks out of the tree) rejected before anything is
// written, and wrong credentials refused with a precise error.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace airlock::testing {

class ConformanceBackend {
 public:
  virtual ~ConformanceBackend() = default;
  virtual std::string name() const = 0;
  // A store rooted at `prefix` ("run-3/"), empty at first.
  virtual std::unique_ptr<store::Store> open(const std::string& prefix) = 0;
  // The same store with credentials the server refuses; nullptr when the backend has none.
  virtual std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) = 0;
  // Words the wrong-credentials error must contain (the variable or flag to fix).
  virtual std::string credentials_hint() const { return ""; }
};

// A backend is made once per process (starting a server per test would dominate the run).
struct BackendMaker {
  std::string name;
  std::function<ConformanceBackend&()> make;
};
inline void PrintTo(const BackendMaker& maker, std::ostream* out) {
  *out << maker.name;
}

class StoreConformance : public ::testing::TestWithParam<BackendMaker> {
 protected:
  ConformanceBackend& backend() { return GetParam().make(); }
  // A fresh prefix for this test on the backend.
  std::unique_ptr<store::Store> fresh_store();
  std::string prefix_;
};

}  // namespace airlock::testing
