#include "store/webhdfs_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "core/env.h"
#include "core/file_io.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "net/http_url.h"
#include "store/http_transfer.h"
#include "store/store_factory.h"

extern char** environ;

namespace airlock::store {
namespace {

// Temporary names of writes in progress, beside their target: ".<name>.airlock-upload-<hex>".
constexpr std::string_view kTemporaryMarker = ".airlock-upload-";
constexpr int kMaxReadContinuations = 5;
constexpr int kMaxCreateAttempts = 3;

bool is_temporary_name(std::string_view name) {
  return name.starts_with('.') && name.find(kTemporaryMarker) != std::string_view::npos;
}

std::string parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string random_hex() {
  std::random_device device;
  std::mt19937_64 rng(device());
  return fmt::format("{:016x}", rng());
}

std::string login_name() {
  if (auto user = first_env({"USER", "LOGNAME"})) return user->value;
  if (passwd* entry = ::getpwuid(::getuid()); entry != nullptr && entry->pw_name != nullptr) return entry->pw_name;
  return "airlock";
}

struct ProcessResult {
  int exit_code = -1;  // -1: could not be started (spawn_error says why)
  int spawn_error = 0;
  std::string output;  // stdout and stderr together
};

// Runs a Kerberos client tool (kinit, klist) with stdin from /dev/null and its output captured,
// so that what it says can go into an error message instead of onto the terminal.
ProcessResult run_tool(std::vector<std::string> args) {
  ProcessResult result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.spawn_error = errno;
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    result.spawn_error = spawned;
    return result;
  }
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      if (result.output.size() < 64 * 1024) result.output.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return result;
}

// The first line of a tool's output, for messages ("kinit: Password incorrect while getting
// initial credentials"). Kerberos tools never print keys or passwords.
std::string first_line(std::string_view text) {
  text = trim(text);
  return std::string(text.substr(0, text.find('\n')));
}

// The private credential cache of keytab logins: a 0700 directory of this process's own, so that
// a ticket made from the keytab never replaces the one a person's KRB5CCNAME holds, and removed
// when the process ends. Its name carries the pid: the next keytab login removes the caches of
// processes killed before they could.
std::string& private_cache_dir() {
  static std::string dir;
  return dir;
}

void remove_private_cache() {
  const std::string& dir = private_cache_dir();
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// kinit -kt <keytab> <principal> into the private credential cache, once per keytab and
// principal (again with `renew`, when the ticket has expired); KRB5CCNAME then names it, where
// libcurl's GSS-API looks for the ticket.
Status kinit_with_keytab(const std::string& keytab, const std::string& principal, bool renew = false) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, Status> done;
  std::lock_guard lock(mutex);
  if (auto it = done.find({keytab, principal}); it != done.end() && !renew) return it->second;
  auto remember = [&](Status status) {
    done.insert_or_assign(std::pair(keytab, principal), status);
    return status;
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(keytab, ec) || ::access(keytab.c_str(), R_OK) != 0) {
    return remember(Error(ErrorCode::kInvalidArgument,
                          fmt::format("KERBEROS_KEYTAB names {}, which is not a readable file; set KERBEROS_KEYTAB "
                                      "to the keytab of KERBEROS_PRINCIPAL ({})",
                                      keytab, principal)));
  }
  if (private_cache_dir().empty()) {
    remove_directories_of_dead_processes(std::filesystem::temp_directory_path(ec), "airlock-krb5-", 0);
    std::string pattern =
        (std::filesystem::temp_directory_path(ec) / fmt::format("airlock-krb5-{}-XXXXXX", ::getpid())).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return remember(io_error(fmt::format("could not make a private Kerberos credential cache under {}: {}",
                                           std::filesystem::temp_directory_path(ec).string(), std::strerror(errno))));
    }
    private_cache_dir() = pattern;
    std::atexit(remove_private_cache);
  }
  const std::string cache = "FILE:" + private_cache_dir() + "/ccache";
  if (auto previous = get_env("KRB5CCNAME"); !previous || *previous != cache) {
    if (previous) {
      log::debug("KERBEROS_KEYTAB is set: using a private credential cache instead of KRB5CCNAME ({})", *previous);
    }
    // Only on the first login: a renewal must not touch the environment while transfers that
    // read it (libcurl's GSS-API) are running.
    ::setenv("KRB5CCNAME", cache.c_str(), 1);
  }
  ProcessResult kinit = run_tool({"kinit", "-kt", keytab, principal});
  if (kinit.exit_code == -1) {
    return remember(Error(ErrorCode::kUnsupported,
                          fmt::format("KERBEROS_KEYTAB is set but kinit could not be run ({}); install the Kerberos "
                                      "client tools (Debian: krb5-user) or run kinit yourself and set KRB5CCNAME",
                                      std::strerror(kinit.spawn_error))));
  }
  if (kinit.exit_code != 0) {
    const std::string said = first_line(kinit.output);
    return remember(
        Error(ErrorCode::kUnauthenticated,
              redact(fmt::format("kinit -kt {} {} failed{}; check that KERBEROS_KEYTAB holds the current keys of "
                                 "KERBEROS_PRINCIPAL (klist -kt {}), and the realm's KDC in krb5.conf (KRB5_CONFIG)",
                                 keytab, principal, said.empty() ? "" : " (" + said + ")", keytab))));
  }
  log::debug("kinit -kt {} {}: ticket in the private credential cache {}", keytab, principal, cache);
  return remember(ok_status());
}

std::optional<std::uint64_t> json_u64(const Json& json, const char* name) {
  if (!json.contains(name)) return std::nullopt;
  const Json& value = json[name];
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  return std::nullopt;
}

Result<WebHdfsFileStatus> file_status_from(const Json& json) {
  if (!json.is_object()) return parse_error("a WebHDFS FileStatus is not a JSON object");
  WebHdfsFileStatus status;
  if (json.contains("pathSuffix") && json["pathSuffix"].is_string())
    status.path_suffix = json["pathSuffix"].get<std::string>();
  if (!json.contains("type") || !json["type"].is_string()) return parse_error("a WebHDFS FileStatus has no type");
  status.type = json["type"].get<std::string>();
  if (status.type == "FILE") {
    auto length = json_u64(json, "length");
    if (!length) return parse_error(fmt::format("WebHDFS file '{}' has no valid length", status.path_suffix));
    status.length = *length;
  }
  return status;
}

}  // namespace

std::pair<std::string, std::string> parse_remote_exception(std::string_view body) {
  auto json = parse_json(body, "WebHDFS error");
  if (!json.ok() || !json->is_object() || !json->contains("RemoteException")) return {};
  const Json& exception = (*json)["RemoteException"];
  if (!exception.is_object()) return {};
  std::string name;
  if (exception.contains("exception") && exception["exception"].is_string())
    name = exception["exception"].get<std::string>();
  if (name.empty() && exception.contains("javaClassName") && exception["javaClassName"].is_string()) {
    name = exception["javaClassName"].get<std::string>();
    if (auto dot = name.find_last_of(".$"); dot != std::string::npos) name = name.substr(dot + 1);
  }
  std::string message;
  if (exception.contains("message") && exception["message"].is_string())
    message = exception["message"].get<std::string>();
  if (auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
  return {name, message};
}

Result<WebHdfsListing> parse_webhdfs_listing(std::string_view body) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_json(body, "WebHDFS listing"));
  if (!json.is_object()) return parse_error("a WebHDFS listing is not a JSON object");
  WebHdfsListing listing;
  const Json* statuses = nullptr;
  if (json.contains("DirectoryListing")) {
    const Json& directory = json["DirectoryListing"];
    if (!directory.is_object() || !directory.contains("partialListing")) {
      return parse_error("a WebHDFS DirectoryListing has no partialListing");
    }
    statuses = &directory["partialListing"];
    listing.remaining = json_u64(directory, "remainingEntries").value_or(0);
  } else if (json.contains("FileStatuses")) {
    statuses = &json;
  } else {
    return parse_error("a WebHDFS listing has neither FileStatuses nor DirectoryListing");
  }
  if (!statuses->is_object() || !statuses->contains("FileStatuses") || !(*statuses)["FileStatuses"].is_object()) {
    return parse_error("a WebHDFS listing has no FileStatuses object");
  }
  const Json& inner = (*statuses)["FileStatuses"];
  if (inner.contains("FileStatus")) {
    if (!inner["FileStatus"].is_array()) return parse_error("WebHDFS FileStatuses.FileStatus is not an array");
    for (const Json& entry : inner["FileStatus"]) {
      AIRLOCK_ASSIGN_OR_RETURN(WebHdfsFileStatus status, file_status_from(entry));
      // LISTSTATUS of a file answers with the file itself (an empty pathSuffix): no entries below.
      if (status.path_suffix.empty()) continue;
      if (status.path_suffix.find('/') != std::string::npos || status.path_suffix == "." ||
          status.path_suffix == "..") {
        return parse_error(fmt::format("a WebHDFS listing entry has the name '{}'", status.path_suffix));
      }
      listing.entries.push_back(std::move(status));
    }
  }
  return listing;
}

Result<WebHdfsFileStatus> parse_webhdfs_file_status(std::string_view body) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_json(body, "WebHDFS file status"));
  if (!json.is_object() || !json.contains("FileStatus")) return parse_error("a WebHDFS answer has no FileStatus");
  return file_status_from(json["FileStatus"]);
}

Result<WebHdfsSettings> resolve_webhdfs_settings(const Uri& uri, const WebHdfsOptions& options) {
  WebHdfsSettings settings;
  if (uri.host.empty()) return invalid_argument(fmt::format("{} names no namenode host", uri.to_string()));
  if (!uri.query.empty()) {
    return invalid_argument(
        fmt::format("{}: a query string is not supported in an HDFS URI; give a delegation token "
                    "with --delegation-token or HADOOP_TOKEN",
                    uri.to_string()));
  }
  settings.httpfs = options.httpfs || get_env("AIRLOCK_HTTPFS").value_or("") == "1" ||
                    iequals(get_env("AIRLOCK_HTTPFS").value_or(""), "true");
  std::string scheme = "http";
  int port = 0;
  if (uri.scheme == "hdfs") {
    // The URI's port is the namenode's RPC port (8020, 9000): not HTTP.
    if (options.port) {
      port = *options.port;
      settings.port_source = "--webhdfs-port";
    } else if (auto text = get_env("AIRLOCK_WEBHDFS_PORT")) {
      auto parsed = parse_u64(*text);
      if (!parsed || *parsed == 0 || *parsed > 65535) {
        return invalid_argument(fmt::format("AIRLOCK_WEBHDFS_PORT='{}' is not a port number", *text));
      }
      port = static_cast<int>(*parsed);
      settings.port_source = "AIRLOCK_WEBHDFS_PORT";
    } else {
      port = settings.httpfs ? kHttpFsDefaultPort : kWebHdfsDefaultPort;
      settings.port_source = settings.httpfs ? "the HttpFS default" : "the WebHDFS default";
    }
    if (uri.port) {
      log::debug("hdfs://{}:{}: port {} is the namenode's RPC port; using HTTP port {} ({})", uri.host, *uri.port,
                 *uri.port, port, settings.port_source);
    }
  } else {
    if (uri.scheme == "swebhdfs") scheme = "https";
    if (uri.port) {
      port = *uri.port;
      settings.port_source = "the URI";
    } else {
      port = uri.scheme == "swebhdfs" ? kSwebHdfsDefaultPort
                                      : (settings.httpfs ? kHttpFsDefaultPort : kWebHdfsDefaultPort);
      settings.port_source = "the default";
    }
  }
  const std::string host =
      uri.host.find(':') != std::string::npos && uri.host.front() != '[' ? "[" + uri.host + "]" : uri.host;
  settings.base_url = fmt::format("{}://{}:{}/webhdfs/v1", scheme, host, port);
  settings.host = uri.host;
  std::string path = uri.path.empty() ? "/" : uri.path;
  if (path.front() != '/') path.insert(path.begin(), '/');
  if (path.find("/../") != std::string::npos || path.ends_with("/..") || path.find("/./") != std::string::npos) {
    return invalid_argument(fmt::format("{}: '.' and '..' are not allowed in an HDFS path", uri.to_string()));
  }
  if (path.back() != '/') path += '/';
  settings.root = path;
  settings.display =
      fmt::format("{}://{}{}{}", uri.scheme, host, uri.port ? ":" + std::to_string(*uri.port) : "", settings.root);

  if (!options.delegation_token.empty()) {
    settings.delegation = options.delegation_token;
    settings.delegation_source = "--delegation-token";
  } else if (auto token = get_env("HADOOP_TOKEN")) {
    settings.delegation = *token;
    settings.delegation_source = "HADOOP_TOKEN";
  }
  if (!settings.delegation.empty()) register_secret(settings.delegation);
  settings.proxy_user = get_env("HADOOP_PROXY_USER").value_or("");
  auto keytab = get_env("KERBEROS_KEYTAB");
  auto principal = get_env("KERBEROS_PRINCIPAL");
  if (settings.delegation.empty()) {
    if (keytab && principal) {
      AIRLOCK_TRY(kinit_with_keytab(*keytab, *principal));
      settings.kerberos = true;
      settings.kerberos_principal = *principal;
      settings.kerberos_keytab = *keytab;
      settings.kerberos_source = fmt::format("KERBEROS_PRINCIPAL {} (KERBEROS_KEYTAB)", *principal);
    } else if (keytab || principal) {
      return invalid_argument("KERBEROS_KEYTAB and KERBEROS_PRINCIPAL go together; set both or neither");
    } else if (get_env("KRB5CCNAME")) {
      settings.kerberos = true;
      settings.kerberos_source = "the Kerberos ticket in KRB5CCNAME";
    }
  }
  if (settings.delegation.empty() && !settings.kerberos) {
    if (auto user = get_env("HADOOP_USER_NAME")) {
      settings.user = *user;
      settings.user_source = "HADOOP_USER_NAME";
    } else {
      settings.user = login_name();
      settings.user_source = "the login name (set HADOOP_USER_NAME to choose)";
    }
  }
  return settings;
}

WebHdfsStore::WebHdfsStore(WebHdfsSettings settings, std::shared_ptr<net::HttpClient> client)
    : settings_(std::move(settings)), client_(std::move(client)) {}

std::string WebHdfsStore::display_uri() const {
  return settings_.display;
}

Capabilities WebHdfsStore::capabilities() const {
  return Capabilities{};
}

std::string WebHdfsStore::op_url(std::string_view path, std::string_view op, std::string_view extra) const {
  std::string url = settings_.base_url + percent_encode(path, "/") + "?op=" + std::string(op);
  if (!extra.empty()) url += "&" + std::string(extra);
  if (!settings_.delegation.empty()) {
    url += "&delegation=" + percent_encode(settings_.delegation);
  } else if (!settings_.user.empty()) {
    url += "&user.name=" + percent_encode(settings_.user);
  }
  if (!settings_.proxy_user.empty()) url += "&doas=" + percent_encode(settings_.proxy_user);
  return url;
}

net::HttpRequest WebHdfsStore::request(std::string method, std::string url) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.options.negotiate = settings_.kerberos;
  if (settings_.kerberos) {
    // Replaying the namenode's hadoop.auth cookie saves a SPNEGO round trip per request; when it
    // has expired the namenode challenges again and libcurl negotiates anew.
    std::lock_guard lock(cookie_mutex_);
    if (!auth_cookie_.empty()) request.headers.set("Cookie", "hadoop.auth=" + auth_cookie_);
  }
  // WebHDFS's optional CSRF protection wants this header on writes; harmless elsewhere.
  request.headers.set("X-XSRF-HEADER", "airlock");
  return request;
}

Result<net::HttpResponse> WebHdfsStore::send(net::HttpRequest request) {
  return send_to_namenode(std::move(request), std::nullopt);
}

Result<net::HttpResponse> WebHdfsStore::send(net::HttpRequest request, net::HttpSink sink) {
  return send_to_namenode(std::move(request), std::move(sink));
}

Result<net::HttpResponse> WebHdfsStore::send_to_namenode(net::HttpRequest request, std::optional<net::HttpSink> sink) {
  if (!settings_.kerberos)
    return sink ? client_->send(std::move(request), std::move(*sink)) : client_->send(std::move(request));
  // With a hadoop.auth cookie the request goes without a SPNEGO token: no GSS-API work on either
  // side, and no "Request is a replay" from the namenode's replay cache when many requests start
  // in the same second. A cookie the namenode no longer takes (401) is dropped and the request
  // negotiates anew; a refused negotiation with a keytab login and an expired ticket gets a
  // fresh ticket (a long push outlives the ticket's lifetime) and one more try.
  net::HttpRequest negotiated = request;
  negotiated.headers.remove("Cookie");
  negotiated.options.negotiate = true;
  const std::optional<net::HttpSink> sink_again = sink;  // a sink only ever sees 2xx bodies: unused by a 401
  auto send_copy = [&](net::HttpRequest copy) {
    return sink_again ? client_->send(std::move(copy), *sink_again) : client_->send(std::move(copy));
  };
  const std::uint64_t generation = ticket_generation_.load();
  const bool by_cookie = request.headers.get("cookie").has_value();
  if (by_cookie) request.options.negotiate = false;
  auto response = sink ? client_->send(std::move(request), std::move(*sink)) : client_->send(std::move(request));
  if (by_cookie && response.ok() && response->status == 401) {
    {
      std::lock_guard lock(cookie_mutex_);
      auth_cookie_.clear();
    }
    log::debug("the namenode no longer accepts the hadoop.auth cookie; negotiating again");
    response = send_copy(negotiated);
  }
  // 403 without a RemoteException: the namenode's filter refused the SPNEGO token itself (one
  // that expired on its way there, for instance).
  const bool refused =
      response.ok() &&
      (response->status == 401 || (response->status == 403 && parse_remote_exception(response->body).first.empty()));
  if (!settings_.kerberos_keytab.empty() && refused && renew_ticket(generation)) {
    response = send_copy(negotiated);
  }
  if (response.ok()) remember_cookie(*response);
  return response;
}

bool WebHdfsStore::renew_ticket(std::uint64_t seen_generation) {
  std::lock_guard lock(renew_mutex_);
  // Renewed since this request went out (requests refused together share one kinit): try again.
  if (ticket_generation_.load() != seen_generation) return true;
  // Only an expired ticket is renewed (klist -s fails): a refusal with a valid one is not a
  // lifetime problem, and it stands.
  if (run_tool({"klist", "-s"}).exit_code == 0) return false;
  Status renewed = kinit_with_keytab(settings_.kerberos_keytab, settings_.kerberos_principal, true);
  if (!renewed.ok()) {
    log::warn("renewing the Kerberos ticket from KERBEROS_KEYTAB failed: {}", renewed.error().message());
    return false;
  }
  ++ticket_generation_;
  log::info("the Kerberos ticket of {} expired; logged in again from KERBEROS_KEYTAB", settings_.kerberos_principal);
  return true;
}

void WebHdfsStore::remember_cookie(const net::HttpResponse& response) {
  if (!settings_.kerberos) return;
  for (const std::string& header : response.headers.get_all("set-cookie")) {
    std::string_view value = trim(std::string_view(header).substr(0, header.find(';')));
    if (!value.starts_with("hadoop.auth=")) continue;
    value.remove_prefix(std::string_view("hadoop.auth=").size());
    // The cookie authenticates by itself until it expires: never in a message.
    if (value.size() > 2) register_secret(value);
    std::lock_guard lock(cookie_mutex_);
    // An empty value is the namenode clearing a cookie it no longer accepts.
    auth_cookie_ = value == "\"\"" ? std::string() : std::string(value);
  }
}

std::string WebHdfsStore::kerberos_hint(const net::HttpResponse& response) const {
  const std::string cache = get_env("KRB5CCNAME").value_or("the default credential cache");
  const bool keytab = !settings_.kerberos_principal.empty();
  if (response.status == 403) {
    // The namenode's AuthenticationFilter could not verify the ticket (GSSException): a service
    // ticket for another principal or realm, or a clock too far off.
    std::string said;
    if (auto at = response.body.find("GSSException"); at != std::string::npos) {
      said = response.body.substr(at, response.body.find_first_of("<\n", at) - at);
    }
    return fmt::format(
        "the namenode could not verify the Kerberos ticket of {}{}; check that the namenode's HTTP/<host> "
        "principal is in the realm of KRB5_CONFIG and that the clocks agree",
        settings_.kerberos_source, said.empty() ? "" : " (" + redact(said) + ")");
  }
  // 401 with Negotiate: libcurl had no ticket to offer. `klist -s` says whether the cache holds
  // one that is still valid.
  const ProcessResult klist = run_tool({"klist", "-s"});
  if (klist.exit_code != 0 && klist.exit_code != -1) {
    if (keytab) {
      return fmt::format(
          "the Kerberos ticket made from KERBEROS_KEYTAB for KERBEROS_PRINCIPAL {} is no longer valid (expired?); "
          "run again, or check the principal's ticket lifetime",
          settings_.kerberos_principal);
    }
    return fmt::format(
        "there is no valid Kerberos ticket in KRB5CCNAME ({}; klist shows none): it has expired or was never "
        "made; run kinit "
        "(kinit -kt <keytab> <principal>) for that cache, or set KERBEROS_KEYTAB + KERBEROS_PRINCIPAL",
        cache);
  }
  // The ticket is valid: was there a service ticket for the namenode's HTTP principal? libcurl
  // asks for HTTP/<host of the URL>, so a URI naming the host differently from the principal
  // (an alias, an IP address) finds none.
  const std::string service = "HTTP/" + settings_.host;
  const ProcessResult kvno = run_tool({"kvno", service});
  if (kvno.exit_code != 0 && kvno.exit_code != -1) {
    return fmt::format(
        "the Kerberos ticket in KRB5CCNAME ({}) is valid, but no service ticket for {} could be had ({}); name "
        "the namenode in the URI by the host name of its HTTP principal, and check the realm mapping in krb5.conf "
        "(KRB5_CONFIG)",
        cache, service, first_line(kvno.output));
  }
  return fmt::format(
      "the namenode refused {} (cache {}); check the ticket with klist, KRB5CCNAME, or KERBEROS_KEYTAB + "
      "KERBEROS_PRINCIPAL",
      settings_.kerberos_source, cache);
}

Error WebHdfsStore::error_for(const net::HttpResponse& response, std::string_view path) const {
  auto [exception, text] = parse_remote_exception(response.body);
  const std::string where = fmt::format("{} {}{}", response.method, settings_.display,
                                        path.substr(std::min(path.size(), settings_.root.size())));
  std::string detail = fmt::format("HTTP {} {}", response.status, response.reason);
  if (!exception.empty()) detail += ": " + exception;
  if (!text.empty()) detail += ": " + text;
  ErrorCode code = net::error_code_for_status(response.status);
  std::string hint;
  const bool token_problem = exception.find("InvalidToken") != std::string::npos ||
                             (exception == "SecurityException" && !settings_.delegation.empty()) ||
                             text.find("delegation token") != std::string::npos;
  if (token_problem && !settings_.delegation.empty()) {
    code = ErrorCode::kUnauthenticated;
    hint = fmt::format(
        "the delegation token from {} was refused (expired or cancelled?); get a new one "
        "(hdfs fetchdt) and set HADOOP_TOKEN or --delegation-token",
        settings_.delegation_source);
  } else if (settings_.kerberos && (response.status == 401 || (response.status == 403 && exception.empty()))) {
    code = ErrorCode::kUnauthenticated;
    hint = kerberos_hint(response);
  } else if (response.status == 401) {
    code = ErrorCode::kUnauthenticated;
    const bool negotiate = response.headers.get("www-authenticate").value_or("").find("Negotiate") != std::string::npos;
    if (negotiate) {
      hint =
          "the cluster requires Kerberos: run kinit and set KRB5CCNAME, or set KERBEROS_KEYTAB + "
          "KERBEROS_PRINCIPAL, or give a delegation token (HADOOP_TOKEN or --delegation-token)";
    } else {
      hint = fmt::format("check HADOOP_USER_NAME (user '{}' from {}) or give a delegation token (HADOOP_TOKEN)",
                         settings_.user, settings_.user_source);
    }
  } else if (response.status == 403 && exception == "AccessControlException") {
    code = ErrorCode::kPermissionDenied;
    hint = settings_.user.empty()
               ? std::string("the authenticated user may not do this; check the HDFS permissions")
               : fmt::format("user '{}' (from {}) may not do this; check HADOOP_USER_NAME and the HDFS permissions",
                             settings_.user, settings_.user_source);
  } else if (exception == "StandbyException") {
    code = ErrorCode::kUnavailable;
    hint = "this namenode is the standby; use the active namenode's host";
  } else if (exception == "FileNotFoundException") {
    code = ErrorCode::kNotFound;
  }
  std::string message = fmt::format("{}: {}", where, detail);
  if (response.attempts > 1) message += fmt::format(" (after {} attempts)", response.attempts);
  if (!hint.empty()) message += " — " + hint;
  return Error(code, redact(message));
}

Result<bool> WebHdfsStore::boolean_op(std::string method, const std::string& path, std::string_view op,
                                      std::string_view extra) {
  net::HttpRequest call = request(std::move(method), op_url(path, op, extra));
  if (call.method == "PUT") call.body = std::string();
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, send(std::move(call)));
  if (!response.ok()) return error_for(response, path);
  auto json = parse_json(response.body, "WebHDFS answer");
  if (!json.ok() || !json->is_object() || !json->contains("boolean") || !(*json)["boolean"].is_boolean()) {
    return parse_error(fmt::format("{} {}: the answer is not {{\"boolean\": ...}}", op, path));
  }
  return (*json)["boolean"].get<bool>();
}

Result<std::optional<std::vector<WebHdfsStore::Entry>>> WebHdfsStore::list_directory(const std::string& path) {
  std::vector<Entry> entries;
  std::string start_after;
  bool batch = true;
  for (int page = 0; page < 100'000; ++page) {
    std::string extra;
    if (batch && !start_after.empty()) extra = "startAfter=" + percent_encode(start_after);
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response,
                             send(request("GET", op_url(path, batch ? "LISTSTATUS_BATCH" : "LISTSTATUS", extra))));
    if (response.status == 404) return std::optional<std::vector<Entry>>();
    if (batch && response.status == 400 && page == 0) {
      // Older namenodes and HttpFS gateways have no LISTSTATUS_BATCH: one LISTSTATUS then.
      auto [exception, text] = parse_remote_exception(response.body);
      if (exception.find("IllegalArgument") != std::string::npos ||
          exception.find("UnsupportedOperation") != std::string::npos || text.find("op") != std::string::npos) {
        batch = false;
        continue;
      }
    }
    if (!response.ok()) return error_for(response, path);
    auto listing = parse_webhdfs_listing(response.body);
    if (!listing.ok()) return listing.error().with_context(fmt::format("listing {}", path));
    for (auto& status : listing->entries) {
      if (status.type == "SYMLINK") continue;  // HDFS symlinks are off by default and outside the tree model
      entries.push_back(Entry{status.path_suffix, status.type == "DIRECTORY", status.length});
    }
    if (!batch || listing->remaining == 0 || listing->entries.empty()) return std::optional(std::move(entries));
    start_after = listing->entries.back().path_suffix;
  }
  return Error(ErrorCode::kResourceExhausted, fmt::format("listing {} returned more than 100,000 pages", path));
}

Status WebHdfsStore::walk(const std::string& relative_dir, const std::optional<std::string>& after, std::size_t wanted,
                          std::vector<ObjectInfo>& out, bool include_temporary) {
  AIRLOCK_ASSIGN_OR_RETURN(auto listed, list_directory(settings_.root + relative_dir));
  if (!listed) return ok_status();
  std::vector<Entry>& entries = *listed;
  // Keys in byte order: a directory sorts as its name plus '/', as every key below it starts so.
  auto sort_key = [](const Entry& e) { return e.directory ? e.name + "/" : e.name; };
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) { return sort_key(a) < sort_key(b); });
  for (const Entry& entry : entries) {
    if (out.size() >= wanted) return ok_status();
    const std::string key = relative_dir + entry.name;
    if (entry.directory) {
      const std::string sub = key + "/";
      // Every key below `sub` starts with it: when it sorts before `after` without being a
      // prefix of it, the whole subtree was delivered on earlier pages.
      if (after && sub < *after && !after->starts_with(sub)) continue;
      AIRLOCK_TRY(walk(sub, after, wanted, out, include_temporary));
      continue;
    }
    if (after && key <= *after) continue;
    if (!include_temporary && is_temporary_name(entry.name)) continue;
    ObjectInfo info;
    info.key = key;
    info.size = entry.size;
    out.push_back(std::move(info));
  }
  return ok_status();
}

Result<std::optional<ObjectInfo>> WebHdfsStore::stat(std::string_view key) {
  const std::string path = settings_.root + std::string(key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, send(request("GET", op_url(path, "GETFILESTATUS"))));
  if (response.status == 404) return std::optional<ObjectInfo>();
  if (!response.ok()) return error_for(response, path);
  auto status = parse_webhdfs_file_status(response.body);
  if (!status.ok()) return status.error().with_context(path);
  if (status->type != "FILE") return std::optional<ObjectInfo>();
  ObjectInfo info;
  info.key = std::string(key);
  info.size = status->length;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ListPage> WebHdfsStore::list_page(std::string_view prefix, const ListOptions& options,
                                         const std::optional<std::string>& token) {
  const std::string directory = as_directory_prefix(prefix);
  const std::size_t page_size = std::max<std::size_t>(options.page_size, 1);
  ListPage page;
  if (options.recursive) {
    std::vector<ObjectInfo> found;
    // One more than a page: whether there is a next page.
    AIRLOCK_TRY(walk(directory, token, page_size + 1, found, false));
    if (found.size() > page_size) {
      found.resize(page_size);
      page.next_token = found.back().key;
    }
    page.objects = std::move(found);
    return page;
  }
  AIRLOCK_ASSIGN_OR_RETURN(auto listed, list_directory(settings_.root + directory));
  if (!listed) return page;
  std::vector<std::pair<std::string, Entry>> items;
  for (auto& entry : *listed) {
    if (!entry.directory && is_temporary_name(entry.name)) continue;
    items.emplace_back(directory + entry.name + (entry.directory ? "/" : ""), entry);
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string last_taken;
  std::size_t taken = 0;
  for (const auto& [key, entry] : items) {
    if (token && key <= *token) continue;
    if (taken == page_size) {
      page.next_token = last_taken;
      break;
    }
    if (entry.directory) {
      page.prefixes.push_back(key);
    } else {
      page.objects.push_back(ObjectInfo{key, entry.size, "", std::nullopt, std::nullopt});
    }
    last_taken = key;
    ++taken;
  }
  return page;
}

Status WebHdfsStore::read_range(const std::string& path, std::uint64_t offset, std::uint64_t length, bool to_end,
                                const ByteSink& sink, const std::shared_ptr<const std::atomic<bool>>& cancel) {
  std::uint64_t delivered = 0;
  for (int attempt = 0;; ++attempt) {
    std::string extra = fmt::format("offset={}", offset + delivered);
    if (!to_end) {
      if (delivered >= length) return ok_status();
      extra += fmt::format("&length={}", length - delivered);
    }
    net::HttpRequest open = request("GET", op_url(path, "OPEN", extra));
    open.options.cancel = cancel;
    // A datanode ignores Range headers: a broken body is continued below with a new offset.
    open.options.resume = false;
    const std::uint64_t before = delivered;
    net::HttpSink http_sink;
    http_sink.on_data = [&](std::string_view bytes) -> Status {
      if (!to_end && delivered + bytes.size() > length)
        bytes = bytes.substr(0, static_cast<std::size_t>(length - delivered));
      delivered += bytes.size();
      return sink(bytes);
    };
    auto response = send(std::move(open), std::move(http_sink));
    if (response.ok() && response->ok()) {
      if (to_end || delivered >= length) return ok_status();
      // The file is shorter than asked: a range past the end is cut short, as elsewhere.
      if (delivered == before) return ok_status();
    } else if (response.ok()) {
      if (response->status == 404) {
        return not_found(fmt::format("{}{} does not exist", settings_.display,
                                     path.substr(std::min(path.size(), settings_.root.size()))));
      }
      return error_for(*response, path);
    } else if (response.error().code() == ErrorCode::kCancelled || attempt >= kMaxReadContinuations ||
               delivered == before) {
      // Nothing new arrived: the client's own retries already gave up on this one.
      return response.error();
    }
    log::debug("OPEN {} broke off at byte {}; continuing from there", path, offset + delivered);
  }
}

Status WebHdfsStore::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  const std::string path = settings_.root + std::string(key);
  const std::uint64_t offset = options.range ? options.range->offset : 0;
  std::optional<std::uint64_t> length = options.range ? options.range->length : std::nullopt;
  if (length && *length == 0) return ok_status();
  const std::uint64_t part = std::max<std::uint64_t>(options.part_size, 1 * kMiB);
  if (options.parallel > 1) {
    std::optional<std::uint64_t> size = options.size;
    if (!size && !length) {
      AIRLOCK_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, stat(key));
      if (!info) return not_found(fmt::format("{}{} does not exist", settings_.display, key));
      size = info->size;
    }
    const std::uint64_t total = length ? *length : (*size > offset ? *size - offset : 0);
    if (total > part * 2) {
      // Parts in flight, delivered in order; a part that fails is read again on this thread
      // (continuing where it broke off) before giving up.
      struct Part {
        std::uint64_t first = 0;
        std::uint64_t size = 0;
        std::shared_ptr<std::string> buffer;
        std::future<Result<net::HttpResponse>> done;
      };
      std::deque<Part> in_flight;
      std::uint64_t next = 0;
      auto submit = [&] {
        Part p;
        p.first = offset + next;
        p.size = std::min(part, total - next);
        p.buffer = std::make_shared<std::string>();
        p.buffer->reserve(static_cast<std::size_t>(p.size));
        net::HttpRequest open =
            request("GET", op_url(path, "OPEN", fmt::format("offset={}&length={}", p.first, p.size)));
        open.options.resume = false;
        open.options.cancel = options.cancel;
        net::HttpSink part_sink;
        auto buffer = p.buffer;
        const std::uint64_t limit = p.size;
        part_sink.on_data = [buffer, limit](std::string_view bytes) -> Status {
          if (buffer->size() < limit) {
            buffer->append(bytes.substr(
                0, static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), limit - buffer->size()))));
          }
          return ok_status();
        };
        p.done = client_->submit(std::move(open), std::move(part_sink));
        in_flight.push_back(std::move(p));
        next += std::min(part, total - next);
      };
      Status status;
      while (next < total && in_flight.size() < static_cast<std::size_t>(options.parallel)) submit();
      while (!in_flight.empty()) {
        Part p = std::move(in_flight.front());
        in_flight.pop_front();
        auto result = p.done.get();
        if (status.ok()) {
          if (options.cancel && options.cancel->load()) status = Error(ErrorCode::kCancelled, "cancelled");
        }
        if (status.ok()) {
          if (result.ok() && result->ok() && p.buffer->size() == p.size) {
            status = sink(*p.buffer);
          } else if (result.ok() && !result->ok() && result->status != 429 && result->status < 500) {
            status = result->status == 404
                         ? Status(not_found(fmt::format("{}{} does not exist", settings_.display, key)))
                         : Status(error_for(*result, path));
          } else {
            // Broken, short or refused for now: read what is missing of this part here.
            const std::uint64_t have = result.ok() && result->ok() ? p.buffer->size() : 0;
            if (have > 0) status = sink(std::string_view(*p.buffer).substr(0, static_cast<std::size_t>(have)));
            if (status.ok()) status = read_range(path, p.first + have, p.size - have, false, sink, options.cancel);
          }
        }
        if (status.ok() && next < total) submit();
      }
      return status;
    }
  }
  return read_range(path, offset, length.value_or(0), !length.has_value(), sink, options.cancel);
}

Status WebHdfsStore::make_directories(const std::string& path) {
  {
    std::lock_guard lock(made_mutex_);
    if (made_directories_.count(path) > 0) return ok_status();
  }
  AIRLOCK_ASSIGN_OR_RETURN(bool made, boolean_op("PUT", path, "MKDIRS", "permission=755"));
  if (!made) return io_error(fmt::format("MKDIRS {} answered false (a file of that name?)", path));
  std::lock_guard lock(made_mutex_);
  made_directories_.insert(path);
  return ok_status();
}

Status WebHdfsStore::create(const std::string& path, const ByteSource& source, const WriteOptions& options) {
  auto body_for = [&] {
    net::BodySource body = http_body(source);
    if (options.on_progress) {
      auto sent = std::make_shared<std::atomic<std::uint64_t>>(0);
      auto inner = body.read;
      auto progress = options.on_progress;
      body.read = [inner, sent, progress](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
        auto n = inner(offset, buffer);
        if (n.ok()) {
          std::uint64_t reached = offset + *n;
          std::uint64_t previous = sent->load();
          while (reached > previous && !sent->compare_exchange_weak(previous, reached)) {
          }
          if (reached > previous) progress(reached);
        }
        return n;
      };
    }
    return body;
  };
  if (settings_.httpfs) {
    // HttpFS streams the data to the datanodes itself: one request.
    net::HttpRequest put = request("PUT", op_url(path, "CREATE", "overwrite=true&permission=644&data=true"));
    put.body = body_for();
    put.headers.set("Content-Type", "application/octet-stream");
    put.options.cancel = options.cancel;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, send(std::move(put)));
    if (!response.ok()) return error_for(response, path);
    return ok_status();
  }
  std::optional<Error> last;
  for (int attempt = 0; attempt < kMaxCreateAttempts; ++attempt) {
    // Step 1: the namenode names a datanode (307 Location, or 200 {"Location"} with noredirect).
    net::HttpRequest ask = request("PUT", op_url(path, "CREATE", "overwrite=true&permission=644"));
    ask.body = std::string();
    ask.options.follow_redirects = false;
    ask.options.cancel = options.cancel;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse asked, send(std::move(ask)));
    std::string location;
    if (asked.status == 307 || asked.status == 302 || asked.status == 303) {
      location = asked.headers.get("location").value_or("");
    } else if (asked.ok()) {
      auto json = parse_json(asked.body, "WebHDFS CREATE");
      if (json.ok() && json->is_object() && json->contains("Location") && (*json)["Location"].is_string()) {
        location = (*json)["Location"].get<std::string>();
      }
    } else {
      return error_for(asked, path);
    }
    if (location.empty()) {
      return Error(ErrorCode::kNetwork,
                   fmt::format("CREATE {}: the namenode named no datanode (HTTP {})", path, asked.status));
    }
    AIRLOCK_ASSIGN_OR_RETURN(std::string datanode,
                             net::resolve_url(asked.url.empty() ? settings_.base_url : asked.url, location));
    // Step 2: the bytes go to the datanode, which answers 201 Created.
    net::HttpRequest put = request("PUT", datanode);
    put.options.negotiate = false;  // the datanode URL carries what it needs (a delegation token)
    put.body = body_for();
    put.headers.set("Content-Type", "application/octet-stream");
    put.options.cancel = options.cancel;
    auto stored = client_->send(std::move(put));
    if (stored.ok() && stored->ok()) return ok_status();
    if (stored.ok()) {
      if (stored->status < 500 && stored->status != 429) return error_for(*stored, path);
      last = error_for(*stored, path);
    } else {
      if (stored.error().code() == ErrorCode::kCancelled) return stored.error();
      last = stored.error().with_context(fmt::format(
          "the namenode sent the data of {} to datanode {}, which could not be reached from here; if datanodes "
          "are not reachable, use an HttpFS gateway (--httpfs)",
          path, net::url_origin(datanode)));
    }
    log::debug("CREATE {}: {}; asking the namenode again", path, last->message());
  }
  return *last;
}

Status WebHdfsStore::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  const std::string path = settings_.root + std::string(key);
  const std::string parent = parent_of(path);
  AIRLOCK_TRY(make_directories(parent));
  const std::string name = path.substr(parent.size() + 1);
  const std::string temporary = parent + "/." + name + std::string(kTemporaryMarker) + random_hex();
  Status created = create(temporary, source, options);
  if (!created.ok()) {
    (void)boolean_op("DELETE", temporary, "DELETE", "recursive=false");
    return created;
  }
  // RENAME never replaces an existing file unless told to (renameoptions=OVERWRITE, what
  // FileSystem.rename(..., Rename.OVERWRITE) sends); a server without it answers false.
  auto renamed =
      boolean_op("PUT", temporary, "RENAME", "destination=" + percent_encode(path, "/") + "&renameoptions=OVERWRITE");
  if (renamed.ok() && !*renamed) {
    AIRLOCK_TRY(boolean_op("DELETE", path, "DELETE", "recursive=false"));
    renamed = boolean_op("PUT", temporary, "RENAME", "destination=" + percent_encode(path, "/"));
  }
  if (!renamed.ok() || !*renamed) {
    (void)boolean_op("DELETE", temporary, "DELETE", "recursive=false");
    if (!renamed.ok()) return renamed.error();
    return io_error(fmt::format("RENAME {} to {} answered false", temporary, path));
  }
  return ok_status();
}

Status WebHdfsStore::remove(std::string_view key) {
  const std::string path = settings_.root + std::string(key);
  auto removed = boolean_op("DELETE", path, "DELETE", "recursive=false");
  if (!removed.ok()) {
    if (removed.error().code() == ErrorCode::kNotFound) return ok_status();
    return removed.error();
  }
  return ok_status();  // false: there was nothing to delete
}

Result<std::size_t> WebHdfsStore::abort_stale_uploads(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  AIRLOCK_TRY(walk(as_directory_prefix(prefix), std::nullopt, std::numeric_limits<std::size_t>::max(), all, true));
  std::size_t removed = 0;
  for (const auto& object : all) {
    const std::string name =
        object.key.substr(object.key.rfind('/') == std::string::npos ? 0 : object.key.rfind('/') + 1);
    if (!is_temporary_name(name)) continue;
    AIRLOCK_TRY(remove(object.key));
    ++removed;
    log::info("removed the temporary file of an interrupted write: {}{}", settings_.display, object.key);
  }
  return removed;
}

}  // namespace airlock::store

namespace airlock::store {

bool is_webhdfs_uri(const Uri& uri) {
  return uri.scheme == "webhdfs" || uri.scheme == "swebhdfs" || uri.scheme == "hdfs";
}

Result<std::unique_ptr<Store>> open_webhdfs(const Uri& uri, const StoreConfig& config) {
  AIRLOCK_ASSIGN_OR_RETURN(WebHdfsSettings settings, resolve_webhdfs_settings(uri, config.webhdfs));
  std::shared_ptr<net::HttpClient> client = config.client;
  if (!client) {
    AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config));
  }
  log::debug("{}: WebHDFS at {} (port from {}){}", settings.display, net::display_url(settings.base_url),
             settings.port_source, settings.httpfs ? ", HttpFS" : "");
  return std::unique_ptr<Store>(std::make_unique<WebHdfsStore>(std::move(settings), std::move(client)));
}

}  // namespace airlock::store
