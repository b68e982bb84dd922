#pragma once
// One POSLog <Transaction> as the parser saw it: what the source turns into an event.
#include <cstdint>
#include <string>
#include <vector>

namespace omniloop::poslog {

struct LineItem {
  bool is_return = false;
  std::string item_id;
  std::string description;
  std::string quantity;    // as written (decimal)
  std::string unit_price;  // RegularSalesUnitPrice or ActualSalesUnitPrice
  std::string amount;      // ExtendedAmount
};

struct Tender {
  std::string type;  // TenderType / TypeCode attribute, as written
  std::string amount;
};

struct TransactionRef {  // a return's original transaction (TransactionLink)
  std::string store, workstation, sequence, business_day;
  bool empty() const { return store.empty() && workstation.empty() && sequence.empty(); }
};

struct Transaction {
  enum class Kind { Unknown, Retail, Control, Other };

  uint64_t start_offset = 0;  // byte offset of '<Transaction' in the file
  uint64_t end_offset = 0;    // byte offset just past '</Transaction>' (the resume position)
  uint64_t line = 0;          // line of '<Transaction'

  Kind kind = Kind::Unknown;
  std::string version;  // RetailTransaction@Version / POSLog schema version when given
  std::string store, workstation, sequence, business_day;
  std::string begin_time, end_time;
  std::string operator_id;
  std::string currency;
  bool training = false;
  bool cancelled = false;  // Transaction@CancelFlag, or a voided/cancelled status
  std::string status;      // RetailTransaction@TransactionStatus (or element), as written

  std::vector<LineItem> items;
  std::vector<Tender> tenders;
  uint64_t voided_lines = 0;
  bool has_total = false;
  std::string total;  // TransactionGrandAmount (else the first Total)
  TransactionRef original;

  std::string customer_id, loyalty_id, email, phone, first_name, last_name;

  std::string error;  // set: the transaction is dead-lettered with this reason
  std::string raw;    // raw bytes (capped), kept only for dead letters
};

}  // namespace omniloop::poslog
