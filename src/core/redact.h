// Redaction: the one place that decides what counts as a secret in text bound for a log line,
// an error message or command output.
#pragma once

#include <string>
#include <string_view>

namespace airlock {

// Remembers a secret value (an API key, a token read from a file) so that redact() replaces it
// wherever it appears, even in text no pattern would recognise. Values shorter than 6
// characters are ignored: masking them would garble ordinary words.
void register_secret(std::string_view value);

// Registers the values of the environment variables that hold credentials (NGC_API_KEY,
// HF_TOKEN, AWS_SECRET_ACCESS_KEY, ...). Called once at start-up by the CLI.
void register_secrets_from_environment();

// Returns `text` with secrets replaced by "***": registered values, `Authorization:` and
// similar header values, bearer tokens, `nvapi-` keys, credentials in URLs (`user:pass@`) and
// signing parameters of presigned URLs (X-Amz-Signature, sig, token, ...).
std::string redact(std::string_view text);

}  // namespace airlock
