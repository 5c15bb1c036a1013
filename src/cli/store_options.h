// Flags shared by the commands that reach a store (push, pull, ls, verify, rm): endpoint,
// region, profile and addressing for S3, credentials for plain HTTPS servers, TLS, and the
// transfer settings (--jobs, progress, interruption).
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <string>

#include "cli/command.h"
#include "core/progress.h"
#include "store/store_factory.h"
#include "sync/transfer.h"

namespace airlock::cli {

struct StoreOptions {
  std::string endpoint_url;
  std::string region;
  std::string profile;
  std::string s3_addressing;
  bool no_sign_request = false;
  std::string http_user;  // "user" or "user:password"
  std::string http_password;
  std::string http_token;
  std::string ca_bundle;
  bool insecure = false;
  int webhdfs_port = 0;  // hdfs:// only; 0: AIRLOCK_WEBHDFS_PORT or 9870
  bool httpfs = false;
  std::string delegation_token;

  // Every store flag. `aws_profile_flag` names the AWS profile's flag: "--profile" for the store
  // commands, "--aws-profile" where --profile already means the model profile (serve,
  // download-to-cache).
  void add_to(CLI::App& command, const std::string& aws_profile_flag = "--profile");
  // The flags that pick an object store's endpoint and credentials (S3, GCS, Azure, HDFS), without
  // the https:// server and TLS flags, for commands that have their own --ca-bundle/--insecure.
  void add_object_store_flags(CLI::App& command, const std::string& aws_profile_flag);
  store::StoreConfig config(int jobs) const;
};

struct TransferFlags {
  int jobs = 8;
  int part_parallel = 4;
  std::string part_size = "16MiB";
  std::string multipart_threshold = "1GiB";
  bool json = false;

  void add_to(CLI::App& command, bool uploads);
  // The transfer settings, with progress following --quiet, and a cancel flag that SIGINT sets.
  Result<sync::TransferOptions> resolve(const GlobalOptions& global) const;
};

// Sets the returned flag on the first SIGINT/SIGTERM (a second one ends the process at once), so
// that transfers stop cleanly and leave resumable partial files.
std::shared_ptr<std::atomic<bool>> interrupt_flag();

// Writes `text` to stdout.
void print(const std::string& text);

}  // namespace airlock::cli
