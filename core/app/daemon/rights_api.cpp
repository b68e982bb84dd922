// The admin API's data subject rights: POST /v1/subjects/erase and GET /v1/subjects/export,
// over the daemon's store (the same functions as `omniloop erase` / `omniloop export`).
#include <stdexcept>

#include "admin/render.h"
#include "app/daemon/supervisor.h"
#include "app/erase_command.h"
#include "app/runtime.h"
#include "config/json_value.h"
#include "store/store.h"
#include "store/subject_rights.h"

namespace omniloop::app {

namespace {

admin::ActionResult failure(const std::exception& e) {
  if (dynamic_cast<const std::invalid_argument*>(&e) != nullptr) {
    return {400, admin::errorJson(e.what(), "see docs/privacy.md, \"Rights of the data subject\"")};
  }
  if (dynamic_cast<const store::StoreError*>(&e) != nullptr) {
    return {503, admin::errorJson(std::string("the store failed, nothing was changed: ") + e.what(),
                                  "try again; see the daemon's log")};
  }
  return {500, admin::errorJson(e.what(), "see the daemon's log")};
}

}  // namespace

admin::ActionResult Supervisor::eraseSubject(const std::string& body, const std::string& actor) {
  try {
    config::JsonValue v;
    try {
      v = config::parseJson(body);
    } catch (const std::exception&) {
      throw std::invalid_argument(
          R"(the body is not JSON: send {"identities":["email:jane@example.com"],"reason":"request 117"})");
    }
    if (!v.isObject())
      throw std::invalid_argument(R"(send a JSON object: {"identities":[...],"reason":"..."})");
    store::EraseRequest request;
    const std::vector<std::string> types = runtime_.identityTypes();
    std::vector<const config::JsonValue*> items;
    for (const char* key : {"identities", "identity"}) {
      if (const config::JsonValue* ids = v.get(key)) {
        if (ids->isString()) items.push_back(ids);
        for (const config::JsonValue& item : ids->items) items.push_back(&item);
      }
    }
    for (const config::JsonValue* item : items) {
      if (!item->isString())
        throw std::invalid_argument("identities: write each one as a string TYPE:VALUE");
      request.identities.push_back(store::parseSubjectIdentity(item->string, types, {}));
    }
    if (request.identities.empty()) {
      throw std::invalid_argument(R"(name the subject: "identities":["email:jane@example.com"])");
    }
    const config::JsonValue* reason = v.get("reason");
    if (reason == nullptr || !reason->isString() ||
        reason->string.find_first_not_of(" \t") == std::string::npos) {
      throw std::invalid_argument(
          R"(give the reason: "reason":"<your request reference; no personal data>")");
    }
    request.reason = reason->string;
    request.actor = actor;
    const store::EraseReport r =
        store::eraseSubject(runtime_.store(), runtime_.rightsKeys(), request);
    return {200, eraseReportJson(r)};
  } catch (const std::exception& e) {
    return failure(e);
  }
}

admin::ActionResult Supervisor::exportSubject(const std::vector<std::string>& identities,
                                              const std::string& actor) {
  try {
    if (identities.empty())
      throw std::invalid_argument("name the subject: ?identity=email:jane%40example.com");
    const std::vector<std::string> types = runtime_.identityTypes();
    std::vector<store::SubjectIdentity> ids;
    for (const auto& text : identities) ids.push_back(store::parseSubjectIdentity(text, types, {}));
    return {200, store::exportSubject(runtime_.store(), runtime_.rightsKeys(), ids, actor)};
  } catch (const std::exception& e) {
    return failure(e);
  }
}

}  // namespace omniloop::app
