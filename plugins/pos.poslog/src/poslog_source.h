#pragma once
// Source `pos.poslog`: one customer event per completed RetailTransaction of ARTS/NRF POSLog
// files, read from one file or every matching file of a directory.
//
// Cursor (JSON): the file being read (name + fingerprint), the end offset of its last complete
// transaction, and the files read to their end. A restart re-parses the current file from its
// start and skips what the cursor covers (XML cannot be entered mid-document), so nothing is
// read twice or lost; files already done are not opened again.
#include <omniloop/plugin.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "poslog_parser.h"

namespace omniloop::poslog {

namespace sdk = omniloop::sdk;

class PoslogSource : public sdk::SourceBase {
 public:
  explicit PoslogSource(const sdk::Config& config);
  ~PoslogSource() override;

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max) override;

 private:
  struct OpenFile {
    std::string name;  // file name (directory mode) or the path's file name
    std::string path;
    std::string fingerprint;  // "<fnv64 hex>:<bytes hashed>"
    int fd = -1;
    uint64_t fed = 0;         // bytes handed to the parser
    uint64_t skip_until = 0;  // records ending at or before this offset were committed
    bool ended = false;       // the parser was told the file ends (batch mode)
    std::unique_ptr<PoslogParser> parser;
  };

  bool openNext();                                         // false when no unread file is there now
  void finishFile();                                       // the current file is read to its end
  bool emit(sdk::BatchWriter& out, const Transaction& t);  // false when the batch is full
  std::string cursorText() const;
  std::vector<std::string> candidates() const;  // unread files, in name order
  static std::string fingerprintOf(int fd, uint64_t max_bytes);

  std::string path_;
  bool is_dir_ = false;
  std::string glob_;
  bool follow_;
  std::string done_dir_;
  std::string channel_;
  int64_t default_offset_s_ = 0;

  std::unique_ptr<OpenFile> file_;
  std::set<std::string> done_;  // "<name>|<fingerprint>" of files read to their end
  // From the committed cursor: the file to continue, and where.
  std::string resume_name_, resume_fingerprint_;
  uint64_t resume_offset_ = 0;
  uint64_t last_offset_ = 0;  // end offset of the last record appended from file_
  std::string scratch_;
};

}  // namespace omniloop::poslog
