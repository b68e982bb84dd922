#include "poslog_parser.h"

#include <expat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <new>

namespace omniloop::poslog {

namespace {

// Line breaks as XML (and so expat, whose line numbers we continue) counts them: "\r\n",
// a lone "\r" and a lone "\n" each end one line. `before` is the byte preceding `s`.
uint64_t lineBreaks(std::string_view s, char before) {
  uint64_t n = 0;
  char prev = before;
  for (const char c : s) {
    if (c == '\r' || (c == '\n' && prev != '\r')) ++n;
    prev = c;
  }
  return n;
}

constexpr char kNsSeparator = '\x01';
constexpr size_t kMaxText = 64 * 1024;  // longest element text kept
constexpr size_t kMaxLinesPerTransaction = 10000;

// Names arrive as "uri SEP local SEP prefix" (namespace triplets), "uri SEP local" or "local".
std::string_view localName(const char* name) {
  std::string_view local = name;
  if (const size_t first = local.find(kNsSeparator); first != std::string_view::npos) {
    local.remove_prefix(first + 1);
    if (const size_t second = local.find(kNsSeparator); second != std::string_view::npos) {
      local = local.substr(0, second);
    }
  }
  // Names of a parser without namespace processing never occur here, but a prefix that was
  // replayed without a declaration would: strip "p:" as well.
  const size_t colon = local.rfind(':');
  return colon == std::string_view::npos ? local : local.substr(colon + 1);
}

const char* attribute(const char** attrs, std::string_view name) {
  for (size_t i = 0; attrs && attrs[i]; i += 2) {
    if (localName(attrs[i]) == name) return attrs[i + 1];
  }
  return nullptr;
}

bool isTrue(std::string_view v) {
  return v == "true" || v == "1" || v == "True" || v == "TRUE";
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isDecimal(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// Whether `s` at `i` starts a '<Transaction' (optionally prefixed) start tag. `complete` is
// false when the name runs to the end of `s` (the tag may continue in the next chunk).
bool transactionTagAt(std::string_view s, size_t i, bool* complete) {
  *complete = true;
  size_t j = i + 1;
  const size_t name_start = j;
  while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' ||
                          s[j] == '-' || s[j] == '.' || s[j] == ':')) {
    ++j;
  }
  if (j >= s.size()) {
    *complete = false;
    return false;
  }
  std::string_view name = s.substr(name_start, j - name_start);
  const size_t colon = name.rfind(':');
  if (colon != std::string_view::npos) name.remove_prefix(colon + 1);
  const char next = s[j];
  return name == "Transaction" && (next == '>' || next == '/' || next == ' ' || next == '\t' ||
                                   next == '\r' || next == '\n');
}

}  // namespace

// expat's C callbacks, forwarding to the parser (a friend, so the handlers stay private).
struct ParserCallbacks {
  static void start(void* self, const XML_Char* name, const XML_Char** attrs) {
    static_cast<PoslogParser*>(self)->onStart(name, attrs);
  }
  static void end(void* self, const XML_Char* name) {
    static_cast<PoslogParser*>(self)->onEnd(name);
  }
  static void text(void* self, const XML_Char* s, int len) {
    static_cast<PoslogParser*>(self)->onText(s, len);
  }
  static void ns(void* self, const XML_Char* prefix, const XML_Char* uri) {
    static_cast<PoslogParser*>(self)->onNamespace(prefix, uri);
  }
  // Entity declarations have no place in a till's export; refusing them closes the door on
  // entity expansion attacks outright (expat also bounds amplification itself).
  static void entity(void* self, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                     const XML_Char*, const XML_Char*, const XML_Char*) {
    auto* p = static_cast<PoslogParser*>(self);
    XML_StopParser(p->parser_, XML_FALSE);
  }
};

PoslogParser::PoslogParser() {
  startParser(0, 1, false);
}

PoslogParser::~PoslogParser() {
  if (parser_) XML_ParserFree(parser_);
}

void PoslogParser::startParser(uint64_t base_offset, uint64_t base_line, bool synthetic_root) {
  if (parser_) XML_ParserFree(parser_);
  parser_ = XML_ParserCreateNS(nullptr, kNsSeparator);
  if (!parser_) throw std::bad_alloc();
  XML_SetUserData(parser_, this);
  XML_SetReturnNSTriplet(parser_, XML_TRUE);
  XML_SetElementHandler(parser_, &ParserCallbacks::start, &ParserCallbacks::end);
  XML_SetCharacterDataHandler(parser_, &ParserCallbacks::text);
  XML_SetStartNamespaceDeclHandler(parser_, &ParserCallbacks::ns);
  XML_SetEntityDeclHandler(parser_, &ParserCallbacks::entity);
  base_offset_ = base_offset;
  base_line_ = base_line;
  synthetic_len_ = 0;
  stack_.clear();
  depth_ = 0;
  text_.clear();
  if (synthetic_root) {
    // Replay the original root's namespace declarations so that prefixed names resolve.
    std::string root = "<" + root_qname_;
    for (const auto& [prefix, uri] : root_namespaces_) {
      root += prefix.empty() ? " xmlns=\"" : " xmlns:" + prefix + "=\"";
      for (char c : uri) {
        if (c == '"') {
          root += "&quot;";
        } else if (c == '&') {
          root += "&amp;";
        } else if (c == '<') {
          root += "&lt;";
        } else {
          root += c;
        }
      }
      root += '"';
    }
    root += '>';
    synthetic_len_ = root.size();
    XML_Parse(parser_, root.data(), static_cast<int>(root.size()), XML_FALSE);
  }
}

uint64_t PoslogParser::absOffset(long long parser_index) const {
  const long long real = parser_index - static_cast<long long>(synthetic_len_);
  return base_offset_ + static_cast<uint64_t>(real < 0 ? 0 : real);
}

uint64_t PoslogParser::absLine(unsigned long parser_line) const {
  return base_line_ + (parser_line > 0 ? parser_line - 1 : 0);
}

uint64_t PoslogParser::lineAt(uint64_t abs_offset) const {
  uint64_t line = 1 + lines_before_chunk_;
  if (abs_offset <= chunk_abs_ || chunk_ == nullptr) return line;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(abs_offset - chunk_abs_, chunk_len_));
  return line + lineBreaks(std::string_view(chunk_, n), byte_before_chunk_);
}

void PoslogParser::appendRaw(std::string& raw, uint64_t from, uint64_t to) const {
  if (chunk_ == nullptr) return;
  from = std::max(from, chunk_abs_);
  to = std::min(to, chunk_abs_ + chunk_len_);
  if (to <= from) return;
  if (raw.size() >= kMaxRawBytes) return;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(to - from, kMaxRawBytes - raw.size()));
  raw.append(chunk_ + (from - chunk_abs_), n);
}

void PoslogParser::feed(std::string_view chunk, bool final) {
  std::string joined;
  std::string_view data = chunk;
  uint64_t abs = consumed_;
  if (!carry_.empty()) {
    joined = carry_;
    joined.append(chunk);
    data = joined;
    abs -= carry_.size();
    // The carry starts with '<', so the byte before it cannot pair with its first one.
    lines_before_chunk_ -= lineBreaks(carry_, '\0');
    carry_.clear();
  }
  byte_before_chunk_ = joined.empty() ? last_byte_ : '\0';
  chunk_ = data.data();
  chunk_len_ = data.size();
  chunk_abs_ = abs;
  if (resyncing_) {
    resyncFrom(data.data(), data.size(), abs, final);
  } else {
    parse(data.data(), data.size(), final);
  }
  if (tx_depth_ >= 0) {
    appendRaw(tx_.raw, raw_from_, chunk_abs_ + chunk_len_);
    raw_from_ = chunk_abs_ + chunk_len_;
  }
  lines_before_chunk_ += lineBreaks(data, byte_before_chunk_);
  if (!data.empty()) last_byte_ = data.back();
  consumed_ += chunk.size();
  chunk_ = nullptr;
  chunk_len_ = 0;
}

void PoslogParser::parse(const char* data, size_t len, bool final) {
  if (XML_Parse(parser_, data, static_cast<int>(len), final ? XML_TRUE : XML_FALSE) !=
      XML_STATUS_ERROR) {
    return;
  }
  const XML_Error code = XML_GetErrorCode(parser_);
  const uint64_t at = absOffset(XML_GetCurrentByteIndex(parser_));
  const uint64_t end = chunk_abs_ + chunk_len_;
  // At the end of the file, expat reports a cut-off document where its last token starts.
  const bool at_end =
      final && (at >= end || code == XML_ERROR_UNCLOSED_TOKEN || code == XML_ERROR_NO_ELEMENTS ||
                code == XML_ERROR_PARTIAL_CHAR || code == XML_ERROR_UNCLOSED_CDATA_SECTION);
  if (at_end && tx_depth_ < 0) {
    // The file ends outside any transaction: a missing '</POSLog>' (or the replayed root of a
    // resynchronised parser) loses no record.
    return;
  }
  std::string reason;
  if (code == XML_ERROR_ABORTED) {
    reason = "xml: entity declarations are not allowed in a POSLog file";
  } else if (at_end) {
    reason = "the file ends inside this transaction (truncated, or still being written)";
  } else {
    reason = std::string("xml: ") + XML_ErrorString(code) + " at line " +
             std::to_string(absLine(XML_GetCurrentLineNumber(parser_))) + ", column " +
             std::to_string(XML_GetCurrentColumnNumber(parser_) + 1);
  }
  const unsigned long error_line = XML_GetCurrentLineNumber(parser_);
  failOn(std::move(reason), at, absLine(error_line));
  resyncing_ = true;  // the next '<Transaction' starts a fresh parser
  if (at_end) return;
  // The bad token may have started in an earlier chunk (expat reports an error where its token
  // begins, and sees the token whole only once its last byte arrives): the search for the next
  // '<Transaction' must start right after it, in bytes fed before this chunk, so the caller
  // feeds the file again from there (a good transaction inside the bad token's span would
  // otherwise be lost when the file is read in chunks, and found when it is read whole).
  if (at + 1 < chunk_abs_) {
    rewind_to_ = at + 1;
    rewind_line_ = absLine(error_line);
    return;
  }
  const uint64_t from = at + 1;
  if (from < end) {
    resyncFrom(chunk_ + (from - chunk_abs_), static_cast<size_t>(end - from), from, final);
  }
}

void PoslogParser::rewound(uint64_t offset) {
  // The byte at rewind_to_ - 1 starts the bad token ('<'), so it ends no line.
  consumed_ = offset;
  lines_before_chunk_ = rewind_line_ - 1;
  last_byte_ = '<';
  carry_.clear();
  resyncing_ = true;
}

void PoslogParser::resyncFrom(const char* data, size_t len, uint64_t abs_start, bool final) {
  const std::string_view s(data, len);
  for (size_t i = s.find('<'); i != std::string_view::npos; i = s.find('<', i + 1)) {
    bool complete = true;
    if (transactionTagAt(s, i, &complete)) {
      const uint64_t at = abs_start + i;
      resyncing_ = false;
      startParser(at, lineAt(at), true);
      parse(data + i, len - i, final);
      return;
    }
    if (!complete) {
      if (!final) carry_.assign(s.substr(i));
      return;
    }
  }
}

void PoslogParser::failOn(std::string reason, uint64_t abs_offset, uint64_t line) {
  Transaction t;
  if (tx_depth_ >= 0) {
    appendRaw(tx_.raw, raw_from_, abs_offset + 1);
    t = std::move(tx_);
    tx_ = Transaction{};
  } else {
    t.start_offset = abs_offset;
    t.line = line;  // expat's: the bad token may have begun in an earlier chunk
    appendRaw(t.raw, abs_offset, abs_offset + 256);
    reason += " (outside any transaction)";
  }
  // Strictly after every record before it, so a resume never skips it by mistake; never past
  // the bytes read (an error reported at the end of the file would otherwise end one byte
  // beyond it, and a resume there would skip the first byte appended).
  t.end_offset = std::max(abs_offset + 1, t.start_offset + 1);
  const uint64_t fed = chunk_abs_ + chunk_len_;
  if (t.end_offset > fed && fed > t.start_offset) t.end_offset = fed;
  t.error = std::move(reason);
  ready_.push_back(std::move(t));
  tx_depth_ = -1;
}

void PoslogParser::onNamespace(const char* prefix, const char* uri) {
  // Declarations on the root (seen before its start tag) are replayed after a resync.
  if (depth_ != 0 || synthetic_len_ != 0 || !uri) return;
  root_namespaces_.emplace_back(prefix ? prefix : "", uri);
}

void PoslogParser::onText(const char* s, int len) {
  if (text_.size() < kMaxText) {
    text_.append(s, std::min<size_t>(static_cast<size_t>(len), kMaxText - text_.size()));
  }
}

void PoslogParser::onStart(const char* name, const char** attrs) {
  const std::string_view local = localName(name);
  if (depth_ == 0 && synthetic_len_ == 0) {
    // The root's qualified name, replayed (with its namespaces) after a resync so that its
    // end tag still matches.
    root_qname_ = std::string(local);
    const char* last = std::strrchr(name, kNsSeparator);
    if (last && std::strchr(name, kNsSeparator) != last)
      root_qname_ = std::string(last + 1) + ":" + root_qname_;
  }
  ++depth_;
  stack_.emplace_back(local);
  text_.clear();
  if (tx_depth_ < 0) {
    if (local != "Transaction") return;
    tx_ = Transaction{};
    tx_depth_ = depth_;
    tx_.start_offset = absOffset(XML_GetCurrentByteIndex(parser_));
    tx_.line = absLine(XML_GetCurrentLineNumber(parser_));
    raw_from_ = tx_.start_offset;
    total_type_.clear();
    if (const char* v = attribute(attrs, "CancelFlag"); v && isTrue(v)) tx_.cancelled = true;
    if (const char* v = attribute(attrs, "TrainingModeFlag"); v && isTrue(v)) tx_.training = true;
    return;
  }
  const std::string_view parent =
      stack_.size() >= 2 ? std::string_view(stack_[stack_.size() - 2]) : "";
  if (local == "RetailTransaction") {
    tx_.kind = Transaction::Kind::Retail;
    if (const char* v = attribute(attrs, "Version")) tx_.version = v;
    if (const char* v = attribute(attrs, "TransactionStatus")) tx_.status = v;
  } else if (local == "ControlTransaction") {
    tx_.kind = Transaction::Kind::Control;
  } else if (depth_ == tx_depth_ + 1 && local.size() > 11 &&
             local.substr(local.size() - 11) == "Transaction" &&
             tx_.kind == Transaction::Kind::Unknown) {
    tx_.kind = Transaction::Kind::Other;  // TenderControlTransaction, InventoryControl...
  } else if (local == "LineItem") {
    const char* v = attribute(attrs, "VoidFlag");
    line_voided_ = v && isTrue(v);
    line_has_item_ = line_has_tender_ = false;
    line_item_ = LineItem{};
    line_tender_ = Tender{};
  } else if ((local == "Sale" || local == "Return") && parent == "LineItem") {
    line_has_item_ = true;
    line_item_.is_return = local == "Return";
  } else if (local == "Tender" && parent == "LineItem") {
    line_has_tender_ = true;
    const char* type = attribute(attrs, "TenderType");
    if (!type) type = attribute(attrs, "TypeCode");
    line_tender_.type = type ? type : "";
  } else if (local == "Total") {
    const char* type = attribute(attrs, "TotalType");
    total_type_ = type ? type : "";
  }
}

void PoslogParser::onEnd(const char*) {
  if (stack_.empty()) return;
  const std::string local = std::move(stack_.back());
  stack_.pop_back();
  const std::string_view parent = stack_.empty() ? "" : std::string_view(stack_.back());
  if (tx_depth_ >= 0 && depth_ > tx_depth_) {
    const std::string t = trimmed(text_);
    if (depth_ == tx_depth_ + 1) {
      if (local == "RetailStoreID")
        tx_.store = t;
      else if (local == "WorkstationID")
        tx_.workstation = t;
      else if (local == "SequenceNumber")
        tx_.sequence = t;
      else if (local == "BusinessDayDate")
        tx_.business_day = t;
      else if (local == "BeginDateTime")
        tx_.begin_time = t;
      else if (local == "EndDateTime")
        tx_.end_time = t;
      else if (local == "OperatorID")
        tx_.operator_id = t;
      else if (local == "CurrencyCode")
        tx_.currency = t;
      else if (local == "TrainingModeFlag" && isTrue(t))
        tx_.training = true;
      else if (local == "CancelFlag" && isTrue(t))
        tx_.cancelled = true;
    } else if (parent == "TransactionLink") {
      if (local == "RetailStoreID")
        tx_.original.store = t;
      else if (local == "WorkstationID")
        tx_.original.workstation = t;
      else if (local == "SequenceNumber")
        tx_.original.sequence = t;
      else if (local == "BusinessDayDate")
        tx_.original.business_day = t;
    } else if ((parent == "Sale" || parent == "Return") && line_has_item_) {
      if (local == "ItemID")
        line_item_.item_id = t;
      else if (local == "Description")
        line_item_.description = t;
      else if (local == "Quantity")
        line_item_.quantity = t;
      else if (local == "RegularSalesUnitPrice" ||
               (local == "ActualSalesUnitPrice" && line_item_.unit_price.empty()))
        line_item_.unit_price = t;
      else if (local == "ExtendedAmount")
        line_item_.amount = t;
    } else if (parent == "Tender" && line_has_tender_) {
      if (local == "Amount") line_tender_.amount = t;
    } else if (local == "VoidFlag" && parent == "LineItem") {
      if (isTrue(t)) line_voided_ = true;
    } else if (local == "TransactionStatus" && parent == "RetailTransaction") {
      tx_.status = t;
    }
    if (local == "Total") {
      const bool grand = total_type_ == "TransactionGrandAmount";
      if (grand || !tx_.has_total) {
        if (grand || tx_.total.empty()) tx_.total = t;
        tx_.has_total = true;
      }
      total_type_.clear();
    } else if (local == "LineItem") {
      if (line_voided_) {
        ++tx_.voided_lines;
      } else if (tx_.items.size() + tx_.tenders.size() >= kMaxLinesPerTransaction) {
        if (tx_.error.empty()) {
          tx_.error = "more than " + std::to_string(kMaxLinesPerTransaction) + " line items";
        }
      } else {
        if (line_has_item_) tx_.items.push_back(std::move(line_item_));
        if (line_has_tender_) tx_.tenders.push_back(std::move(line_tender_));
      }
      line_voided_ = line_has_item_ = line_has_tender_ = false;
    } else if (local == "LoyaltyAccountID" || local == "LoyaltyCardNumber" ||
               local == "LoyaltyAccountNumber") {
      if (tx_.loyalty_id.empty()) tx_.loyalty_id = t;
    } else {
      bool in_customer = false;
      for (size_t i = static_cast<size_t>(tx_depth_); i < stack_.size(); ++i) {
        if (stack_[i] == "Customer") in_customer = true;
      }
      if (in_customer && !t.empty()) {
        if (local == "CustomerID")
          tx_.customer_id = t;
        else if (local == "FirstName" || local == "GivenName")
          tx_.first_name = t;
        else if (local == "LastName" || local == "FamilyName" || local == "Surname")
          tx_.last_name = t;
        else if (local == "EMailAddress" || local == "EmailAddress" || local == "EMail")
          tx_.email = t;
        else if (local == "TelephoneNumber" || local == "PhoneNumber" ||
                 local == "FullTelephoneNumber")
          tx_.phone = t;
      }
    }
  } else if (tx_depth_ >= 0 && depth_ == tx_depth_ && local == "Transaction") {
    finishTransaction();
  }
  --depth_;
  text_.clear();
  if (depth_ == 0) root_closed_ = true;
}

void PoslogParser::finishTransaction() {
  tx_.end_offset = absOffset(XML_GetCurrentByteIndex(parser_)) +
                   static_cast<uint64_t>(XML_GetCurrentByteCount(parser_));
  if (tx_.kind == Transaction::Kind::Unknown) tx_.kind = Transaction::Kind::Other;
  if (tx_.kind == Transaction::Kind::Retail && tx_.error.empty()) {
    const std::string status = lower(tx_.status);
    if (status.empty() || status == "finished" || status == "completed" || status == "totaled" ||
        status == "tendered") {
      // a completed sale or return
    } else if (status == "voided" || status == "postvoided" || status == "canceled" ||
               status == "cancelled" || status == "aborted" || status == "suspended" ||
               status == "suspendeddeleted") {
      tx_.cancelled = true;
    } else {
      tx_.error = "unknown TransactionStatus '" + tx_.status +
                  "' (known: Finished, Completed, Totaled, Tendered, Voided, PostVoided, "
                  "Canceled, Aborted, Suspended, SuspendedDeleted)";
    }
    if (tx_.error.empty() && !tx_.cancelled && !tx_.training) {
      if (!tx_.has_total) {
        tx_.error = "the RetailTransaction has no Total";
      } else if (!isDecimal(tx_.total)) {
        tx_.error = "Total '" + tx_.total + "' is not a number";
      }
    }
  }
  if (tx_.error.empty()) {
    tx_.raw.clear();
  } else {
    appendRaw(tx_.raw, raw_from_, tx_.end_offset);
  }
  ready_.push_back(std::move(tx_));
  tx_ = Transaction{};
  tx_depth_ = -1;
}

}  // namespace omniloop::poslog
