// Any bytes as an S3 answer (listings, multipart replies, errors, STS credentials): the XML
// reader and the documents built on it return a value or an error, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/aws_credentials.h"
#include "store/s3_store.h"
#include "store/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)airlock::store::parse_xml(text);
  (void)airlock::store::parse_list_objects_v2(text);
  (void)airlock::store::parse_list_multipart_uploads(text);
  (void)airlock::store::parse_sts_credentials(text);
  return 0;
}
