// FileStore: a directory on a local (or mounted) file system as a store: `file:///data/models`
// or a plain path. Objects are files under the root; writes go to a temporary name and are
// renamed into place, so a reader never sees half an object. Keys pass safe_join, so no key
// and no symlink inside the root can reach outside it.
#pragma once

#include <filesystem>
#include <memory>

#include "store/store.h"

namespace airlock::store {

class FileStore final : public Store {
 public:
  explicit FileStore(std::filesystem::path root);

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  Result<std::filesystem::path> path_for(std::string_view key) const;

  std::filesystem::path root_;
};

}  // namespace airlock::store
