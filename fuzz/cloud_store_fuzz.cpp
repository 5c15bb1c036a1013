// Any bytes as an answer of GCS (listings, object resources), Azure Blob (List Blobs, errors, a
// connection string), WebHDFS (listings, file statuses, RemoteException) or an OAuth2 token
// endpoint: the parsers return a value or an error, never crash or hang.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/azure_credentials.h"
#include "store/azure_store.h"
#include "store/gcs_store.h"
#include "store/oauth_token.h"
#include "store/webhdfs_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)airlock::store::parse_gcs_list(text);
  (void)airlock::store::gcs_persisted_bytes(std::string(text));
  (void)airlock::store::parse_azure_list(text);
  (void)airlock::store::parse_azure_connection_string(text);
  (void)airlock::store::parse_webhdfs_listing(text);
  (void)airlock::store::parse_webhdfs_file_status(text);
  (void)airlock::store::parse_remote_exception(text);
  (void)airlock::store::parse_token_response(text, std::chrono::system_clock::now());
  return 0;
}
