#include "admin/http_request.h"

#include <cstdint>

namespace omniloop::admin {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 9110 tchar: what a method and a field name consist of.
bool isTokenChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ParseResult fail(int status, std::string error) {
  ParseResult r;
  r.state = ParseState::Error;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// Parses the request line and fields of `head` (without its final empty line).
ParseResult parseHead(std::string_view head, const HttpLimits& limits, HttpRequest& out) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);

  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line (write METHOD /path HTTP/1.1)");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.size() > 16) return fail(501, "method not implemented");
  for (char c : method) {
    if (!isTokenChar(static_cast<unsigned char>(c))) return fail(400, "malformed method");
  }
  if (target.empty()) return fail(400, "empty request target");
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return fail(400, "control character in the request target");
  }
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9') {
    if (version.substr(0, 5) == "HTTP/") return fail(505, "only HTTP/1.x is supported");
    return fail(400, "malformed HTTP version");
  }
  out.method = method;
  out.target = target;
  out.minor_version = version[7] - '0';

  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      return fail(400, "folded header lines are not accepted");
    }
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return fail(400, "malformed header field");
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!isTokenChar(static_cast<unsigned char>(c)))
        return fail(400, "malformed header field name");
    }
    const std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f)
        return fail(400, "control character in a header field");
    }
    if (out.fields.size() >= limits.max_header_fields) {
      return fail(
          431, "too many header fields (at most " + std::to_string(limits.max_header_fields) + ")");
    }
    out.fields.emplace_back(std::string(name), std::string(value));
  }
  ParseResult r;
  r.head_complete = true;
  return r;
}

// A chunked body at the start of `data`: NeedMore, Complete (consumed = its bytes) or Error.
ParseResult parseChunked(std::string_view data, const HttpLimits& limits, std::string& body) {
  size_t pos = 0;
  body.clear();
  for (;;) {
    const size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (data.size() - pos > 1024) return fail(400, "malformed chunk size line");
      return {};
    }
    std::string_view size_line = data.substr(pos, eol - pos);
    if (const size_t semi = size_line.find(';'); semi != std::string_view::npos) {
      size_line = size_line.substr(0, semi);  // chunk extensions are ignored
    }
    size_line = trim(size_line);
    if (size_line.empty() || size_line.size() > 8) return fail(400, "malformed chunk size");
    uint64_t size = 0;
    for (char c : size_line) {
      int digit = 0;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return fail(400, "malformed chunk size");
      }
      size = size * 16 + static_cast<uint64_t>(digit);
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields (ignored) up to an empty line.
      for (;;) {
        const size_t end = data.find("\r\n", pos);
        if (end == std::string_view::npos) {
          if (data.size() - pos > limits.max_header_bytes)
            return fail(431, "trailer fields too large");
          return {};
        }
        if (end == pos) {
          ParseResult r;
          r.state = ParseState::Complete;
          r.consumed = end + 2;
          return r;
        }
        pos = end + 2;
      }
    }
    if (body.size() + size > limits.max_body_bytes) {
      return fail(413, "request body too large");
    }
    if (data.size() - pos < size + 2) return {};
    if (data.substr(pos + size, 2) != "\r\n")
      return fail(400, "malformed chunk (no CRLF after its data)");
    body.append(data.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

std::string HttpRequest::header(std::string_view name, std::string_view fallback) const {
  for (const auto& [key, value] : fields) {
    if (iequals(key, name)) return value;
  }
  return std::string(fallback);
}

bool HttpRequest::keepAlive() const {
  const std::string connection = header("Connection");
  auto has = [&](std::string_view token) {
    size_t i = 0;
    while (i <= connection.size()) {
      size_t j = connection.find(',', i);
      if (j == std::string::npos) j = connection.size();
      if (iequals(trim(std::string_view(connection).substr(i, j - i)), token)) return true;
      i = j + 1;
    }
    return false;
  };
  if (minor_version >= 1) return !has("close");
  return has("keep-alive");
}

ParseResult parseRequest(std::string_view buffer, const HttpLimits& limits, HttpRequest& out) {
  out = HttpRequest{};
  // Empty lines before a request are ignored (RFC 9112 2.2).
  size_t start = 0;
  while (buffer.substr(start, 2) == "\r\n") start += 2;
  const size_t end = buffer.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (buffer.size() - start > limits.max_header_bytes) {
      return fail(431, "request header too large (at most " +
                           std::to_string(limits.max_header_bytes / 1024) + " KiB)");
    }
    return {};
  }
  if (end - start > limits.max_header_bytes) {
    return fail(431, "request header too large (at most " +
                         std::to_string(limits.max_header_bytes / 1024) + " KiB)");
  }
  ParseResult head = parseHead(buffer.substr(start, end - start), limits, out);
  if (head.state == ParseState::Error) return head;
  const size_t body_start = end + 4;

  const std::string expect = out.header("Expect");
  out.expect_continue = iequals(expect, "100-continue");
  const std::string encoding = out.header("Transfer-Encoding");
  size_t length_fields = 0;
  std::string length;
  for (const auto& [key, value] : out.fields) {
    if (iequals(key, "Content-Length")) {
      if (length_fields++ > 0 && value != length)
        return fail(400, "conflicting Content-Length fields");
      length = value;
    }
  }
  ParseResult r;
  r.head_complete = true;
  if (!encoding.empty()) {
    if (length_fields > 0) return fail(400, "both Content-Length and Transfer-Encoding");
    if (!iequals(trim(encoding), "chunked")) {
      return fail(501, "only the chunked transfer coding is supported");
    }
    ParseResult c = parseChunked(buffer.substr(body_start), limits, out.body);
    c.head_complete = true;
    if (c.state == ParseState::Complete) c.consumed += body_start;
    return c;
  }
  uint64_t size = 0;
  if (length_fields > 0) {
    if (length.empty() || length.size() > 19) {
      return length.size() > 19 ? fail(413, "request body too large")
                                : fail(400, "malformed Content-Length");
    }
    for (char c : length) {
      if (c < '0' || c > '9') return fail(400, "malformed Content-Length");
      size = size * 10 + static_cast<uint64_t>(c - '0');
    }
    if (size > limits.max_body_bytes) return fail(413, "request body too large");
  }
  if (buffer.size() - body_start < size) return r;
  out.body.assign(buffer.substr(body_start, size));
  r.state = ParseState::Complete;
  r.consumed = body_start + size;
  return r;
}

std::string escapeForLog(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < max ? text.size() : max);
  for (char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\\') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace omniloop::admin
