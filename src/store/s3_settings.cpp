#include "store/s3_settings.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>

#include "core/env.h"
#include "core/strings.h"
#include "core/uri.h"
#include "store/aws_credentials.h"

namespace airlock::store {
namespace {

bool is_false_word(std::string_view value) {
  std::string v = to_lower(value);
  return v == "0" || v == "false" || v == "no" || v == "off";
}

bool is_true_word(std::string_view value) {
  std::string v = to_lower(value);
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

Result<S3Addressing> parse_addressing(std::string_view value, std::string_view source) {
  std::string v = to_lower(value);
  if (v.empty() || v == "auto") return S3Addressing::kAuto;
  if (v == "path") return S3Addressing::kPath;
  if (v == "virtual") return S3Addressing::kVirtual;
  return invalid_argument(fmt::format("{} '{}' must be path, virtual or auto", source, value));
}

// A DNS label sequence that can sit in front of the endpoint host and match its certificate.
bool dns_compatible(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;  // dots break the wildcard certificate; upper case and '_' are not host names
    }
  }
  return bucket.front() != '-' && bucket.back() != '-';
}

std::string encode_key(std::string_view key) {
  return percent_encode(key, "/");
}

}  // namespace

Result<S3Settings> resolve_s3_settings(const S3Options& options) {
  S3Settings settings;
  settings.profile = options.profile;
  settings.anonymous = options.no_sign_request;
  AIRLOCK_ASSIGN_OR_RETURN(AwsProfile profile, load_aws_profile(aws_profile_name(options.profile)));

  // Region.
  if (!options.region.empty()) {
    settings.region = options.region;
  } else if (auto env = first_env({"AWS_REGION", "AWS_DEFAULT_REGION"})) {
    settings.region = env->value;
  } else if (profile.config.count("region") && !profile.config["region"].empty()) {
    settings.region = profile.config["region"];
  } else {
    settings.region = "us-east-1";
  }

  // Endpoint.
  std::string endpoint;
  if (!options.endpoint_url.empty()) {
    endpoint = options.endpoint_url;
    settings.endpoint_source = "--endpoint-url";
  } else if (auto env = first_env({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"})) {
    endpoint = env->value;
    settings.endpoint_source = env->name;
  } else if (profile.config.count("s3.endpoint_url") || profile.config.count("endpoint_url")) {
    endpoint =
        profile.config.count("s3.endpoint_url") ? profile.config["s3.endpoint_url"] : profile.config["endpoint_url"];
    settings.endpoint_source = "profile " + profile.name + " endpoint_url";
  } else if (auto kserve = get_env("S3_ENDPOINT")) {
    endpoint = *kserve;
    settings.endpoint_source = "S3_ENDPOINT";
    if (endpoint.find("://") == std::string::npos) {
      auto use_https = get_env("S3_USE_HTTPS");
      endpoint = (use_https && *use_https == "0" ? "http://" : "https://") + endpoint;
    }
  }
  if (!endpoint.empty()) {
    if (endpoint.find("://") == std::string::npos) endpoint = "https://" + endpoint;
    AIRLOCK_ASSIGN_OR_RETURN(Uri uri, parse_uri(endpoint));
    if (uri.scheme != "http" && uri.scheme != "https") {
      return invalid_argument(fmt::format("S3 endpoint from {} must be an http:// or https:// URL, not '{}'",
                                          settings.endpoint_source, uri.to_string()));
    }
    if (uri.host.empty()) {
      return invalid_argument(fmt::format("S3 endpoint from {} has no host: '{}'", settings.endpoint_source, endpoint));
    }
    std::string base = uri.path;
    while (!base.empty() && base.back() == '/') base.pop_back();
    settings.endpoint =
        uri.scheme + "://" +
        (uri.host.find(':') != std::string::npos && uri.host.front() != '[' ? "[" + uri.host + "]" : uri.host) +
        (uri.port ? ":" + std::to_string(*uri.port) : std::string()) + percent_encode(base, "/");
    settings.custom_endpoint = true;
  } else {
    settings.endpoint = "https://s3." + settings.region + ".amazonaws.com";
    settings.endpoint_source = "default";
  }

  // Addressing.
  if (!options.addressing.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(settings.addressing, parse_addressing(options.addressing, "--s3-addressing"));
  } else if (auto vhost = get_env("S3_USER_VIRTUAL_BUCKET")) {
    settings.addressing = is_true_word(*vhost) ? S3Addressing::kVirtual : S3Addressing::kPath;
  } else if (profile.config.count("s3.addressing_style")) {
    AIRLOCK_ASSIGN_OR_RETURN(settings.addressing,
                             parse_addressing(profile.config["s3.addressing_style"], "profile s3.addressing_style"));
  }

  // TLS.
  if (auto verify = get_env("S3_VERIFY_SSL")) settings.verify_tls = !is_false_word(*verify);
  if (auto bundle = get_env("AWS_CA_BUNDLE")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*bundle, ec)) {
      return invalid_argument(fmt::format("AWS_CA_BUNDLE names {}, which does not exist or is not a file", *bundle));
    }
    settings.ca_bundle = *bundle;
  }
  return settings;
}

bool s3_uses_virtual_host(const S3Settings& settings, std::string_view bucket) {
  switch (settings.addressing) {
    case S3Addressing::kPath:
      return false;
    case S3Addressing::kVirtual:
      return true;
    case S3Addressing::kAuto:
      return !settings.custom_endpoint && dns_compatible(bucket);
  }
  return false;
}

std::string s3_url(const S3Settings& settings, std::string_view bucket, std::string_view key, std::string_view query) {
  std::string url;
  if (bucket.empty()) {
    url = settings.endpoint + "/";
  } else if (s3_uses_virtual_host(settings, bucket)) {
    auto scheme_end = settings.endpoint.find("://");
    url = settings.endpoint.substr(0, scheme_end + 3) + std::string(bucket) + "." +
          settings.endpoint.substr(scheme_end + 3) + "/" + encode_key(key);
  } else {
    url = settings.endpoint + "/" + std::string(bucket) + "/" + encode_key(key);
  }
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

Status validate_bucket_name(std::string_view bucket) {
  if (bucket.empty()) return invalid_argument("the S3 URI has no bucket: write s3://<bucket>/<prefix>");
  if (bucket.size() > 255) return invalid_argument("S3 bucket name is longer than 255 characters");
  for (char c : bucket) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return invalid_argument(
          fmt::format("S3 bucket name '{}' may only hold letters, digits, '.', '-' and '_'", bucket));
    }
  }
  return ok_status();
}

}  // namespace airlock::store
