#include "manager/yaml_writer.h"

#include <set>

namespace airlock::manager {
namespace {

bool plain_key(const std::string& key) {
  static const std::set<std::string> kReserved = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"};
  if (key.empty() || kReserved.contains(key)) return false;
  if (!std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != '/') return false;
  }
  return true;
}

std::string key_text(const std::string& key) { return plain_key(key) ? key : dump_json(Json(key)); }

bool is_scalar(const Json& value) {
  return !(value.is_object() || value.is_array()) || value.empty();
}

std::string scalar_text(const Json& value) {
  if (value.is_object()) return "{}";
  if (value.is_array()) return "[]";
  return dump_json(value);  // strings quoted, numbers, true/false, null
}

void write(const Json& value, int indent, std::string& out);

void write_object(const Json& value, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& [key, child] : value.items()) {
    out += pad + key_text(key) + ":";
    if (is_scalar(child)) {
      out += " " + scalar_text(child) + "\n";
    } else {
      out += "\n";
      // Sequences under a key sit at the key's indentation (the usual Kubernetes style).
      write(child, child.is_array() ? indent : indent + 2, out);
    }
  }
}

void write_array(const Json& value, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const Json& item : value) {
    if (is_scalar(item)) {
      out += pad + "- " + scalar_text(item) + "\n";
    } else if (item.is_object()) {
      std::string nested;
      write_object(item, indent + 2, nested);
      // The first key goes on the dash's line.
      out += pad + "- " + nested.substr(static_cast<std::size_t>(indent) + 2);
    } else {
      out += pad + "-\n";
      write(item, indent + 2, out);
    }
  }
}

void write(const Json& value, int indent, std::string& out) {
  if (value.is_object() && !value.empty()) {
    write_object(value, indent, out);
  } else if (value.is_array() && !value.empty()) {
    write_array(value, indent, out);
  } else {
    out += std::string(static_cast<std::size_t>(indent), ' ') + scalar_text(value) + "\n";
  }
}

}  // namespace

std::string to_yaml(const Json& value) {
  std::string out;
  write(value, 0, out);
  return out;
}

std::string to_yaml_documents(const std::vector<Json>& documents) {
  std::string out;
  for (const Json& document : documents) out += "---\n" + to_yaml(document);
  return out;
}

}  // namespace airlock::manager
