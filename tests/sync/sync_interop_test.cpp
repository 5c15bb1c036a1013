// What airlock stores is what other tools expect, and the other way round, judged by the real
// peers: the aws CLI (Debian's awscli) and rclone list and download a tree airlock pushed (the
// files, each once, no symlink copies); a tree uploaded by `aws s3 cp --recursive` is pulled by
// airlock as a plain tree and reported unverified.
#include <gtest/gtest.h>

#include <filesystem>

#include "sync_cli.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

class SyncInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    isolate_aws_environment();
    server_ = new S3rver();
    ASSERT_TRUE(server_->start({"interop"})) << server_->last_output();
  }
  static void TearDownTestSuite() { delete server_; }

  CommandResult aws(std::vector<std::string> args) {
    args.insert(args.begin(), {aws_cli(), "--endpoint-url", server_->endpoint()});
    return run_command(args, s3_client_env());
  }
  CommandResult rclone(std::vector<std::string> args) {
    args.insert(args.begin(), "rclone");
    auto env = s3_client_env();
    write_text(tmp_ / "rclone.conf", "");
    env["RCLONE_CONFIG"] = (tmp_ / "rclone.conf").string();
    env["RCLONE_CONFIG_LOCAL_TYPE"] = "s3";
    env["RCLONE_CONFIG_LOCAL_PROVIDER"] = "Other";
    env["RCLONE_CONFIG_LOCAL_ACCESS_KEY_ID"] = "S3RVER";
    env["RCLONE_CONFIG_LOCAL_SECRET_ACCESS_KEY"] = "S3RVER";
    env["RCLONE_CONFIG_LOCAL_ENDPOINT"] = server_->endpoint();
    env["RCLONE_CONFIG_LOCAL_FORCE_PATH_STYLE"] = "true";
    return run_command(args, env);
  }

  static S3rver* server_;
  TempDir tmp_;
};

S3rver* SyncInterop::server_ = nullptr;

const fs::path kRepo = "huggingface/hub/models--org--model";

TEST_F(SyncInterop, AwsCliAndRcloneReadWhatAirlockPushed) {
  make_cache(tmp_ / "cache", 2 * 1024 * 1024 + 1);
  auto pushed =
      airlock({"push", (tmp_ / "cache").string(), "s3://interop/pushed/m", "--endpoint-url", server_->endpoint()});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  auto listed = aws({"s3", "ls", "--recursive", "s3://interop/pushed/m/"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("pushed/m/huggingface/hub/models--org--model/blobs/big"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("pushed/m/.airlock/index.json"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("snapshots/"), std::string::npos) << "symlinks are in the index, not stored as copies";

  auto copied =
      aws({"s3", "cp", "--recursive", "--only-show-errors", "s3://interop/pushed/m/", (tmp_ / "aws").string()});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_EQ(sha_of_file(tmp_ / "aws" / kRepo / "blobs/big"), sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  EXPECT_EQ(read_text(tmp_ / "aws" / kRepo / "refs/main"), "abc123");

  auto rclone_list = rclone({"lsf", "-R", "--fast-list", "--files-only", "local:interop/pushed/m"});
  ASSERT_EQ(rclone_list.exit_code, 0) << rclone_list.err;
  EXPECT_NE(rclone_list.out.find("huggingface/hub/models--org--model/blobs/small2"), std::string::npos)
      << rclone_list.out;
  auto rclone_copy = rclone({"copy", "--fast-list", "local:interop/pushed/m", (tmp_ / "rclone").string()});
  ASSERT_EQ(rclone_copy.exit_code, 0) << rclone_copy.err;
  EXPECT_EQ(sha_of_file(tmp_ / "rclone" / kRepo / "blobs/big"), sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  // rclone checks what it downloads against the ETag (the MD5 of a single-part upload).
  EXPECT_EQ(
      rclone({"check", "--fast-list", "--one-way", (tmp_ / "rclone").string(), "local:interop/pushed/m"}).exit_code, 0);
}

TEST_F(SyncInterop, AirlockPullsATreeUploadedByAwsCli) {
  make_cache(tmp_ / "cache", 1024 * 1024, 2);
  // aws-cli follows the symlinks: every snapshot entry becomes a second copy, and no index.
  auto uploaded =
      aws({"s3", "cp", "--recursive", "--only-show-errors", (tmp_ / "cache").string(), "s3://interop/byaws/m/"});
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.err;
  auto pulled = airlock(
      {"pull", "s3://interop/byaws/m", (tmp_ / "dst").string(), "--json", "--endpoint-url", server_->endpoint()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  Json summary = json_of(pulled);
  EXPECT_EQ(summary["indexed"], false);
  EXPECT_EQ(summary["verified"], false);
  EXPECT_NE(pulled.err.find("no index"), std::string::npos) << pulled.err;
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / kRepo / "snapshots/abc123/model.safetensors"),
            sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  EXPECT_FALSE(fs::is_symlink(tmp_ / "dst" / kRepo / "snapshots/abc123/model.safetensors"));

  // Pushing the same tree with airlock over it adopts the objects aws-cli uploaded (their
  // bytes are read and found equal) instead of sending them again.
  auto adopted = airlock(
      {"push", (tmp_ / "cache").string(), "s3://interop/byaws/m", "--json", "--endpoint-url", server_->endpoint()});
  ASSERT_EQ(adopted.exit_code, 0) << adopted.err;
  EXPECT_EQ(json_of(adopted)["uploaded_files"], 0);
  EXPECT_EQ(json_of(adopted)["index_written"], true);
}

TEST_F(SyncInterop, AirlockPullsATreeUploadedByRclone) {
  make_cache(tmp_ / "cache", 600 * 1024, 1);
  // rclone skips symlinks unless told; --copy-links uploads what they point to, as aws-cli does.
  auto uploaded = rclone({"copy", "--copy-links", (tmp_ / "cache").string(), "local:interop/byrclone/m"});
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.err;
  auto pulled = airlock({"pull", "s3://interop/byrclone/m", (tmp_ / "dst").string(), "--json", "--endpoint-url",
                         server_->endpoint()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  Json summary = json_of(pulled);
  EXPECT_EQ(summary["indexed"], false);
  EXPECT_EQ(summary["verified"], false);
  EXPECT_EQ(summary["files"], 6) << "2 blobs, the ref, and 3 snapshot entries as copies";
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / kRepo / "snapshots/abc123/model.safetensors"),
            sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  EXPECT_EQ(read_text(tmp_ / "dst" / kRepo / "refs/main"), "abc123");
}

}  // namespace
}  // namespace airlock::testing
