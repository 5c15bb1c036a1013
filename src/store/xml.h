// A small XML reader for the documents object stores answer with (S3 listings, multipart
// replies, error bodies, STS credentials). Builds an element tree; no DTDs (a DOCTYPE is
// refused, so no entity expansion), no namespaces beyond dropping a prefix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::store {

struct XmlElement {
  std::string name;  // local name: "ListBucketResult" for "s3:ListBucketResult"
  std::string text;  // character data directly inside, entities decoded
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* child(std::string_view child_name) const;
  // Every child named `name`, in document order.
  std::vector<const XmlElement*> children_named(std::string_view child_name) const;
  // The text of the first child named `name`; "" when there is none.
  std::string child_text(std::string_view child_name) const;
};

// Parses a whole document; errors say where ("XML at byte 120: ...").
Result<XmlElement> parse_xml(std::string_view document);

// Escapes &, <, >, " and ' for element text and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace airlock::store
