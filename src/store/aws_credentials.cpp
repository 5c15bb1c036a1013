#include "store/aws_credentials.h"

#include <fmt/format.h>

#include <cctype>
#include <ctime>
#include <filesystem>

#include "core/env.h"
#include "core/file_io.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "store/xml.h"

namespace airlock::store {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::system_clock;
constexpr auto kRefreshMargin = std::chrono::minutes(5);
constexpr std::uint64_t kMaxConfigFile = 1 << 20;

std::string home_path(std::string_view relative) {
  std::string home = get_env("HOME").value_or("/root");
  return home + "/" + std::string(relative);
}

std::string config_file_path() {
  return get_env("AWS_CONFIG_FILE").value_or(home_path(".aws/config"));
}
std::string credentials_file_path() {
  return get_env("AWS_SHARED_CREDENTIALS_FILE").value_or(home_path(".aws/credentials"));
}

Result<std::optional<IniFile>> read_ini(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<IniFile>();
  auto text = read_file_limited(path, kMaxConfigFile);
  if (!text.ok()) return text.error().with_context("reading AWS configuration " + path);
  return std::optional<IniFile>(parse_ini(*text));
}

// "2019-11-09T13:34:41Z" or with fractional seconds.
std::optional<Clock::time_point> parse_iso8601(std::string_view text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(std::string(text).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute, &second) !=
      6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return Clock::from_time_t(t);
}

void register_credentials(const AwsCredentials& credentials) {
  register_secret(credentials.secret_access_key);
  register_secret(credentials.session_token);
}

class StaticProvider final : public CredentialProvider {
 public:
  explicit StaticProvider(AwsCredentials credentials) : credentials_(std::move(credentials)) {
    register_credentials(credentials_);
  }
  Result<AwsCredentials> get() override { return credentials_; }
  std::optional<AwsCredentials> current() const override { return credentials_; }
  std::string source() const override { return credentials_.source; }

 private:
  AwsCredentials credentials_;
};

class WebIdentityProvider final : public CredentialProvider {
 public:
  WebIdentityProvider(std::string role_arn, std::string token_file, std::string session_name, std::string endpoint,
                      net::HttpClientOptions http, std::string origin)
      : role_arn_(std::move(role_arn)),
        token_file_(std::move(token_file)),
        session_name_(std::move(session_name)),
        endpoint_(std::move(endpoint)),
        http_(std::move(http)),
        origin_(std::move(origin)) {}

  Result<AwsCredentials> get() override {
    std::lock_guard lock(mutex_);
    if (cached_ && (!cached_->expiration || *cached_->expiration - Clock::now() > kRefreshMargin)) return *cached_;
    auto fresh = assume_role();
    if (!fresh.ok()) {
      // Still-valid credentials are better than none while STS is briefly unreachable.
      if (cached_ && cached_->expiration && *cached_->expiration > Clock::now()) {
        log::warn("refreshing web identity credentials failed ({}); using the current ones until they expire",
                  fresh.error().message());
        return *cached_;
      }
      return fresh.error();
    }
    cached_ = *fresh;
    return *cached_;
  }

  std::optional<AwsCredentials> current() const override {
    std::lock_guard lock(mutex_);
    return cached_;
  }

  std::string source() const override { return "web identity (" + origin_ + ")"; }

 private:
  Result<AwsCredentials> assume_role() {
    auto token = read_file_limited(token_file_, 64 * 1024);
    if (!token.ok()) {
      return Error(ErrorCode::kUnauthenticated,
                   fmt::format("cannot read the web identity token file {} (AWS_WEB_IDENTITY_TOKEN_FILE): {}",
                               token_file_, token.error().message()));
    }
    std::string token_text(trim(*token));
    register_secret(token_text);
    if (!client_) {
      auto created = net::HttpClient::create(http_);
      if (!created.ok()) return created.error();
      client_ = std::move(*created);
    }
    std::string body = fmt::format(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}"
        "&WebIdentityToken={}&DurationSeconds=3600",
        percent_encode(role_arn_), percent_encode(session_name_), percent_encode(token_text));
    net::HttpRequest request = net::HttpRequest::post(endpoint_, std::move(body), "application/x-www-form-urlencoded");
    request.headers.set("Accept", "application/xml");
    // STS answers with new credentials each time; asking again after a lost answer is harmless.
    request.options.idempotent = true;
    auto response = client_->send(std::move(request));
    if (!response.ok()) {
      return response.error().with_context("asking STS (" + net::display_url(endpoint_) +
                                           ") for web identity credentials");
    }
    auto parsed = parse_sts_credentials(response->body);
    if (!parsed.ok()) {
      ErrorCode code =
          response->status == 400 || response->status == 403 ? ErrorCode::kUnauthenticated : parsed.error().code();
      return Error(code, fmt::format("STS AssumeRoleWithWebIdentity for role {} (AWS_ROLE_ARN) failed with HTTP {}: {}",
                                     role_arn_, response->status, parsed.error().message()));
    }
    AwsCredentials credentials = std::move(*parsed);
    credentials.source = source();
    register_credentials(credentials);
    log::debug("web identity credentials for {} valid until {}", role_arn_,
               credentials.expiration ? amz_date(*credentials.expiration) : std::string("(no expiry given)"));
    return credentials;
  }

  std::string role_arn_;
  std::string token_file_;
  std::string session_name_;
  std::string endpoint_;
  net::HttpClientOptions http_;
  std::unique_ptr<net::HttpClient> client_;
  std::string origin_;
  mutable std::mutex mutex_;
  std::optional<AwsCredentials> cached_;
};

std::string sts_endpoint(const CredentialOptions& options, const std::string& region) {
  if (!options.sts_endpoint.empty()) return options.sts_endpoint;
  if (auto env = get_env("AWS_ENDPOINT_URL_STS")) return *env;
  if (region.empty()) return "https://sts.amazonaws.com/";
  return "https://sts." + region + ".amazonaws.com/";
}

}  // namespace

IniFile parse_ini(std::string_view text) {
  IniFile file;
  std::string section;
  std::string nested_parent;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(trim(line.substr(1, line.size() - 2)));
      file[section];
      nested_parent.clear();
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(trim(line.substr(0, eq)));
    std::string value(trim(line.substr(eq + 1)));
    if (indented && !nested_parent.empty()) {
      file[section][nested_parent + "." + key] = value;
      continue;
    }
    nested_parent = value.empty() ? key : std::string();
    file[section][key] = value;
  }
  return file;
}

std::string aws_profile_name(const std::string& flag) {
  if (!flag.empty()) return flag;
  return get_env("AWS_PROFILE").value_or("default");
}

Result<AwsProfile> load_aws_profile(const std::string& name) {
  AwsProfile profile;
  profile.name = name;
  AIRLOCK_ASSIGN_OR_RETURN(std::optional<IniFile> config, read_ini(config_file_path()));
  AIRLOCK_ASSIGN_OR_RETURN(std::optional<IniFile> credentials, read_ini(credentials_file_path()));
  if (config) {
    const std::string section = name == "default" ? "default" : "profile " + name;
    auto it = config->find(section);
    if (it == config->end() && name == "default") it = config->find("profile default");
    if (it != config->end()) {
      profile.config = it->second;
      profile.found = true;
    }
  }
  if (credentials) {
    auto it = credentials->find(name);
    if (it != credentials->end()) {
      profile.credentials = it->second;
      profile.found = true;
    }
  }
  return profile;
}

std::shared_ptr<CredentialProvider> static_credentials(AwsCredentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

Result<AwsCredentials> parse_sts_credentials(std::string_view xml) {
  AIRLOCK_ASSIGN_OR_RETURN(XmlElement root, parse_xml(xml));
  if (root.name == "ErrorResponse" || root.name == "Error") {
    const XmlElement* error = root.name == "Error" ? &root : root.child("Error");
    std::string code = error != nullptr ? error->child_text("Code") : "";
    std::string message = error != nullptr ? error->child_text("Message") : "";
    return Error(ErrorCode::kUnauthenticated, fmt::format("{}: {}", code.empty() ? "error" : code, redact(message)));
  }
  const XmlElement* result = root.child("AssumeRoleWithWebIdentityResult");
  if (result == nullptr) result = root.child("AssumeRoleResult");
  const XmlElement* creds = result != nullptr ? result->child("Credentials") : nullptr;
  if (creds == nullptr) return parse_error("the STS answer has no Credentials element");
  AwsCredentials credentials;
  credentials.access_key_id = creds->child_text("AccessKeyId");
  credentials.secret_access_key = creds->child_text("SecretAccessKey");
  credentials.session_token = creds->child_text("SessionToken");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return parse_error("the STS answer lacks AccessKeyId or SecretAccessKey");
  }
  std::string expiration = creds->child_text("Expiration");
  if (!expiration.empty()) {
    credentials.expiration = parse_iso8601(expiration);
    if (!credentials.expiration) return parse_error("the STS answer has an unreadable Expiration '" + expiration + "'");
  }
  return credentials;
}

Result<std::shared_ptr<CredentialProvider>> resolve_aws_credentials(const CredentialOptions& options) {
  const bool profile_from_flag = !options.profile.empty();
  const std::string profile_name = aws_profile_name(options.profile);

  // 1. Environment, unless --profile named a profile (as the AWS CLI does).
  if (!profile_from_flag) {
    auto key = get_env("AWS_ACCESS_KEY_ID");
    auto secret = get_env("AWS_SECRET_ACCESS_KEY");
    if (key || secret) {
      if (!key || !secret) {
        return Error(ErrorCode::kUnauthenticated,
                     fmt::format("{} is set but {} is not: set both, or neither to use a profile",
                                 key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                 key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
      }
      AwsCredentials credentials;
      credentials.access_key_id = *key;
      credentials.secret_access_key = *secret;
      credentials.session_token = get_env("AWS_SESSION_TOKEN").value_or(get_env("AWS_SECURITY_TOKEN").value_or(""));
      credentials.source = "environment (AWS_ACCESS_KEY_ID)";
      return static_credentials(std::move(credentials));
    }
  }

  AIRLOCK_ASSIGN_OR_RETURN(AwsProfile profile, load_aws_profile(profile_name));
  const bool profile_named = profile_from_flag || get_env("AWS_PROFILE").has_value();
  if (profile_named && !profile.found) {
    return Error(ErrorCode::kUnauthenticated, fmt::format("AWS profile '{}' ({}) is not in {} or {}", profile_name,
                                                          profile_from_flag ? "--profile" : "AWS_PROFILE",
                                                          config_file_path(), credentials_file_path()));
  }
  std::string region = options.region;
  if (region.empty()) region = first_env({"AWS_REGION", "AWS_DEFAULT_REGION"}).value_or(EnvValue{}).value;
  if (region.empty() && profile.config.count("region")) region = profile.config["region"];

  // 2. Web identity: environment first, then the profile.
  auto role_arn = get_env("AWS_ROLE_ARN");
  auto token_file = get_env("AWS_WEB_IDENTITY_TOKEN_FILE");
  std::string origin = "AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE";
  if (!role_arn || !token_file) {
    if (profile.config.count("role_arn") && profile.config.count("web_identity_token_file")) {
      role_arn = profile.config["role_arn"];
      token_file = profile.config["web_identity_token_file"];
      origin = "profile " + profile_name;
    } else if (role_arn.has_value() != token_file.has_value()) {
      return Error(ErrorCode::kUnauthenticated, fmt::format("{} is set but {} is not: web identity needs both",
                                                            role_arn ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                                                            role_arn ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN"));
    }
  }
  if (role_arn && token_file) {
    std::string session = get_env("AWS_ROLE_SESSION_NAME").value_or("");
    if (session.empty() && profile.config.count("role_session_name")) session = profile.config["role_session_name"];
    if (session.empty())
      session = fmt::format("airlock-{}",
                            std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count());
    auto provider = std::make_shared<WebIdentityProvider>(*role_arn, *token_file, session,
                                                          sts_endpoint(options, region), options.http, origin);
    return std::shared_ptr<CredentialProvider>(provider);
  }

  // 3 and 4. The shared credentials file, then the config file.
  for (const auto* section : {&profile.credentials, &profile.config}) {
    auto key = section->find("aws_access_key_id");
    auto secret = section->find("aws_secret_access_key");
    if (key == section->end() && secret == section->end()) continue;
    const std::string file = section == &profile.credentials ? credentials_file_path() : config_file_path();
    if (key == section->end() || secret == section->end() || key->second.empty() || secret->second.empty()) {
      return Error(ErrorCode::kUnauthenticated,
                   fmt::format("AWS profile '{}' in {} needs both aws_access_key_id and aws_secret_access_key",
                               profile_name, file));
    }
    AwsCredentials credentials;
    credentials.access_key_id = key->second;
    credentials.secret_access_key = secret->second;
    if (auto token = section->find("aws_session_token"); token != section->end())
      credentials.session_token = token->second;
    credentials.source = fmt::format("profile {} ({})", profile_name, file);
    return static_credentials(std::move(credentials));
  }

  return Error(
      ErrorCode::kUnauthenticated,
      fmt::format("no AWS credentials found: looked at AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_ROLE_ARN + "
                  "AWS_WEB_IDENTITY_TOKEN_FILE, and profile '{}' in {} and {}. Set one of them (--profile or "
                  "AWS_PROFILE picks a profile), or pass --no-sign-request for a public bucket",
                  profile_name, credentials_file_path(), config_file_path()));
}

}  // namespace airlock::store
