#include "core/redact.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/strings.h"

namespace airlock {
namespace {

constexpr std::string_view kMask = "***";
constexpr std::size_t kMinSecretLength = 6;

std::mutex& secrets_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::vector<std::string>& secrets() {
  static std::vector<std::string> values;
  return values;
}

bool istarts_with(std::string_view text, std::size_t at, std::string_view prefix) {
  return text.size() - at >= prefix.size() && iequals(text.substr(at, prefix.size()), prefix);
}

// Header names whose whole value is a credential.
constexpr std::string_view kSecretHeaders[] = {
    "authorization", "proxy-authorization", "x-amz-security-token", "x-goog-api-key",
    "x-access-key", "x-api-key", "api-key", "cookie", "set-cookie", "x-ms-copy-source-authorization",
};

// Query parameters that carry a signature, a token or a key (presigned S3/GCS URLs, Azure SAS).
constexpr std::string_view kSecretParams[] = {
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
    "x-goog-credential", "signature", "sig", "token", "access_token", "api_key", "apikey",
    "key", "code", "password", "secret", "client_secret", "refresh_token", "se_token",
};

bool is_secret_param(std::string_view name) {
  return std::any_of(std::begin(kSecretParams), std::end(kSecretParams),
                     [&](std::string_view p) { return iequals(p, name); });
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' ||
         c == '+' || c == '/' || c == '=' || c == '%';
}

// "Authorization: Bearer abc" and JSON '"authorization": "abc"' -> value masked to end of line
// or closing quote.
void mask_headers(std::string& text) {
  for (std::string_view header : kSecretHeaders) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t found = std::string::npos;
      for (std::size_t i = pos; i + header.size() <= text.size(); ++i) {
        if (istarts_with(text, i, header)) {
          bool left_ok = i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '-');
          if (left_ok) {
            found = i;
            break;
          }
        }
      }
      if (found == std::string::npos) break;
      std::size_t cursor = found + header.size();
      bool quoted_key = cursor < text.size() && text[cursor] == '"';
      if (quoted_key) ++cursor;
      while (cursor < text.size() && text[cursor] == ' ') ++cursor;
      if (cursor >= text.size() || (text[cursor] != ':' && text[cursor] != '=')) {
        pos = found + header.size();
        continue;
      }
      ++cursor;
      while (cursor < text.size() && text[cursor] == ' ') ++cursor;
      bool quoted_value = cursor < text.size() && text[cursor] == '"';
      if (quoted_value) ++cursor;
      std::size_t end = cursor;
      if (quoted_value) {
        while (end < text.size() && text[end] != '"') ++end;
      } else {
        while (end < text.size() && text[end] != '\n' && text[end] != '\r' && text[end] != ',' &&
               text[end] != ';' && text[end] != '}') {
          ++end;
        }
      }
      // Keep the scheme word ("Bearer", "Basic", "AWS4-HMAC-SHA256") so a reader still knows
      // which kind of credential was sent.
      std::size_t value_start = cursor;
      std::size_t space = text.find(' ', cursor);
      if (space != std::string::npos && space < end) {
        std::string_view scheme(text.data() + cursor, space - cursor);
        if (iequals(scheme, "bearer") || iequals(scheme, "basic") || iequals(scheme, "token") ||
            scheme.rfind("AWS4-", 0) == 0 || iequals(scheme, "SharedKey") || iequals(scheme, "GOOG4-RSA-SHA256")) {
          value_start = space + 1;
        }
      }
      if (end > value_start) text.replace(value_start, end - value_start, kMask);
      pos = value_start + kMask.size();
    }
  }
}

void mask_query_params(std::string& text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t sep = text.find_first_of("?&", pos);
    if (sep == std::string::npos) break;
    std::size_t name_start = sep + 1;
    std::size_t eq = name_start;
    while (eq < text.size() && (std::isalnum(static_cast<unsigned char>(text[eq])) || text[eq] == '-' || text[eq] == '_')) ++eq;
    if (eq < text.size() && text[eq] == '=' && is_secret_param(std::string_view(text).substr(name_start, eq - name_start))) {
      std::size_t end = eq + 1;
      while (end < text.size() && text[end] != '&' && text[end] != '#' && text[end] != ' ' && text[end] != '"' &&
             text[end] != '\'' && text[end] != '\n') {
        ++end;
      }
      if (end > eq + 1) text.replace(eq + 1, end - eq - 1, kMask);
      pos = eq + 1 + kMask.size();
    } else {
      pos = name_start;
    }
  }
}

// scheme://user:password@host -> scheme://user:***@host
void mask_url_credentials(std::string& text) {
  std::size_t pos = 0;
  while ((pos = text.find("://", pos)) != std::string::npos) {
    std::size_t start = pos + 3;
    std::size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != ' ' && text[end] != '@' && text[end] != '"' &&
           text[end] != '\n') {
      ++end;
    }
    if (end < text.size() && text[end] == '@') {
      std::size_t colon = text.find(':', start);
      if (colon != std::string::npos && colon < end) {
        text.replace(colon + 1, end - colon - 1, kMask);
        end = colon + 1 + kMask.size();
      }
    }
    pos = end;
  }
}

// Tokens with a recognisable shape: NGC personal keys, Hugging Face tokens, JWTs.
void mask_token_shapes(std::string& text) {
  constexpr std::string_view kPrefixes[] = {"nvapi-", "hf_", "eyJ"};
  for (std::string_view prefix : kPrefixes) {
    std::size_t pos = 0;
    while ((pos = text.find(prefix, pos)) != std::string::npos) {
      bool left_ok = pos == 0 || !is_token_char(text[pos - 1]);
      std::size_t end = pos + prefix.size();
      while (end < text.size() && is_token_char(text[end])) ++end;
      // hf_ and eyJ are common prefixes of ordinary words; only long runs are tokens.
      std::size_t min_length = prefix == "nvapi-" ? prefix.size() + 8 : 20;
      if (left_ok && end - pos >= min_length) {
        text.replace(pos, end - pos, kMask);
        pos += kMask.size();
      } else {
        pos = end;
      }
    }
  }
}

void mask_registered(std::string& text) {
  std::lock_guard lock(secrets_mutex());
  for (const std::string& secret : secrets()) {
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
}

}  // namespace

void register_secret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  std::lock_guard lock(secrets_mutex());
  auto& values = secrets();
  if (std::find(values.begin(), values.end(), value) != values.end()) return;
  values.emplace_back(value);
  // Longest first, so a secret that contains another is masked whole.
  std::sort(values.begin(), values.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void register_secrets_from_environment() {
  constexpr const char* kSecretVariables[] = {
      "NGC_API_KEY", "NGC_CLI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_TOKEN",
      "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET", "AIRLOCK_API_KEYS", "AIRLOCK_HTTP_PASSWORD",
      "AIRLOCK_HTTP_TOKEN", "GCS_HMAC_SECRET",
  };
  for (const char* name : kSecretVariables) {
    if (const char* value = std::getenv(name); value != nullptr) {
      std::string_view text(value);
      // AIRLOCK_API_KEYS is a comma-separated list.
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        register_secret(text.substr(start, comma - start));
        start = comma + 1;
      }
    }
  }
}

std::string redact(std::string_view text) {
  std::string out(text);
  mask_registered(out);
  mask_headers(out);
  mask_query_params(out);
  mask_url_credentials(out);
  mask_token_shapes(out);
  return out;
}

}  // namespace airlock
