#pragma once
// An HTTP/1.1 request read from bytes as they arrive: request line, header fields and a body
// (Content-Length or chunked), every part bounded. The admin server buffers what a connection
// sent and calls parseRequest() after each read; nothing here blocks or touches a socket, so a
// client that trickles bytes costs a buffer, never a thread (and the parser can be fuzzed).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniloop::admin {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and header fields together
  size_t max_header_fields = 100;
  size_t max_body_bytes = 64 * 1024;  // decoded body
};

struct HttpRequest {
  std::string method;
  std::string target;     // as sent: path and query
  int minor_version = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool expect_continue = false;

  // The first field of that name (case-insensitive), or `fallback`.
  std::string header(std::string_view name, std::string_view fallback = {}) const;
  // HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with keep-alive.
  bool keepAlive() const;
};

enum class ParseState { NeedMore, Complete, Error };

struct ParseResult {
  ParseState state = ParseState::NeedMore;
  bool head_complete = false;  // request line and fields read (the body may still be missing)
  size_t consumed = 0;         // Complete: bytes of the buffer this request used
  int status = 0;              // Error: the status to answer (400, 413, 431, 501, 505)
  std::string error;           // Error: what was wrong, for the client
};

// Parses the request at the start of `buffer` into `out` (overwritten). NeedMore: the buffer
// holds a valid but incomplete request (within the limits). Never throws for any input.
ParseResult parseRequest(std::string_view buffer, const HttpLimits& limits, HttpRequest& out);

// `text` for a log line: control characters, backslash and bytes >= 0x7f as \xNN, cut at
// `max` characters (a "..." marks the cut), so a request cannot forge or flood log lines.
std::string escapeForLog(std::string_view text, size_t max = 256);

}  // namespace omniloop::admin
