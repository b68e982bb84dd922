#pragma once
// A real HTTP client for the webhook tests (Poco over 127.0.0.1), and a free loopback port.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <map>
#include <sstream>
#include <string>

namespace webhooktest {

inline int freePort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  return s.address().port();
}

struct Reply {
  int status = 0;  // 0: no answer (connection refused or reset)
  std::string body;
};

inline Reply post(int port, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers = {}) {
  Reply r;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path,
                               Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    for (const auto& [k, v] : headers) req.set(k, v);
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::stringstream ss;
    ss << in.rdbuf();
    r.status = static_cast<int>(resp.getStatus());
    r.body = ss.str();
  } catch (const std::exception&) {
    r.status = 0;
  }
  return r;
}

}  // namespace webhooktest
