#include "file_source.h"

#include <charconv>
#include <cstring>

#include "cursor.h"

namespace omniloop::files {

namespace {
constexpr size_t kBlockSize = 1 << 20;
}  // namespace

FileSource::FileSource(const sdk::Config& config, std::string kind)
    : kind_(std::move(kind)),
      path_(config.str("path")),
      follow_(config.boolean("follow", false)),
      key_field_(config.str("key_field", "")),
      type_(config.str("type", "")),
      channel_(config.str("channel", "")),
      reader_(path_, kBlockSize,
              static_cast<size_t>(config.integer("max_record_bytes", 16 << 20))) {
  if (path_.empty()) throw sdk::Error(kind_ + ": option 'path' must not be empty");
  if (config.integer("max_record_bytes", 16 << 20) < 1024) {
    throw sdk::Error(kind_ + ": option 'max_record_bytes' must be at least 1024");
  }
  std::string error;
  if (!reader_.open(&error)) {
    throw sdk::Error(kind_ + ": " + error + " (check option 'path')");
  }
}

void FileSource::restartAtZero() {
  std::string error;
  if (!reader_.seek(0, &error)) throw sdk::Error(kind_ + ": " + error);
  check_bom_ = true;
  lines_ = 0;
  line_origin_offset_ = 0;
  line_origin_known_ = true;
  line_origin_ = 0;
  onRestart();
}

void FileSource::seekTo(uint64_t offset) {
  std::string error;
  if (!reader_.seek(offset, &error)) throw sdk::Error(kind_ + ": " + error);
  check_bom_ = offset == 0;
  lines_ = 0;
  line_origin_offset_ = offset;
  line_origin_known_ = offset == 0;
  line_origin_ = 0;
}

void FileSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  const auto c = parseCursor(cursor);
  if (!c) {
    throw sdk::Error(kind_ + ": the checkpoint cursor for '" + path_ +
                     "' was not written by a file source; reset the pipeline's checkpoint");
  }
  if (c->inode != reader_.inode()) {
    host().warn(kind_ + ": '" + path_ +
                "' is not the file the checkpoint was taken from (rotated); reading it from the "
                "start");
    restartAtZero();
    return;
  }
  if (reader_.fileSize() < c->offset) {
    host().warn(kind_ + ": '" + path_ + "' is shorter than the checkpoint offset " +
                std::to_string(c->offset) + " (truncated); reading it from the start");
    restartAtZero();
    return;
  }
  seekTo(c->offset);
}

bool FileSource::fill(bool* eof, bool* full) {
  *full = false;
  std::string error;
  switch (reader_.fill(&error)) {
    case FileReader::Fill::kData:
      return true;
    case FileReader::Fill::kEof:
      *eof = true;
      return false;
    case FileReader::Fill::kFull:
      *full = true;
      return false;
    case FileReader::Fill::kError:
      break;
  }
  throw sdk::Error(kind_ + ": " + error);
}

bool FileSource::handleRotation() {
  switch (reader_.detectChange()) {
    case FileReader::Change::kNone:
      return false;
    case FileReader::Change::kRotated: {
      host().warn(kind_ + ": '" + path_ + "' was replaced by a new file (rotated); reading it");
      std::string error;
      if (!reader_.open(&error)) throw sdk::Retry(kind_ + ": " + error);
      restartAtZero();
      return true;
    }
    case FileReader::Change::kTruncated:
      host().warn(kind_ + ": '" + path_ + "' was truncated; reading it from the start");
      restartAtZero();
      return true;
  }
  return false;
}

void FileSource::reportCounters() {
  if (dead_letters_) host().counter("dead_letters", static_cast<int64_t>(dead_letters_));
  if (bad_times_) host().counter("unparsed_times", static_cast<int64_t>(bad_times_));
  if (missing_keys_) host().counter("missing_keys", static_cast<int64_t>(missing_keys_));
  dead_letters_ = bad_times_ = missing_keys_ = 0;
}

void FileSource::stripBom(bool eof) {
  if (!check_bom_) return;
  if (reader_.offset() != 0) {  // a BOM only counts at the very start of the file
    check_bom_ = false;
    return;
  }
  const std::string_view w = reader_.window();
  if (w.size() < 3 && !eof) return;
  check_bom_ = false;
  if (w.substr(0, 3) == "\xEF\xBB\xBF") reader_.consume(3);
}

ol_status FileSource::finishRead(sdk::BatchWriter& out, bool eof, bool batch_full, size_t appended,
                                 size_t max) {
  const bool stopped_early = batch_full || appended >= max;
  if (eof && follow_ && !stopped_early) handleRotation();
  setCursor(out);
  reportCounters();
  if (eof && !follow_ && !stopped_early && reader_.window().empty()) return OL_END;
  if (appended > 0 || batch_full) return OL_OK;
  return OL_IDLE;
}

void FileSource::setCursor(sdk::BatchWriter& out) {
  out.cursor(formatCursor(reader_.offset(), reader_.inode(), path_));
}

void FileSource::setStaticEnvelope(sdk::EventBuilder& ev) const {
  if (!type_.empty()) ev.type(type_);
  if (!channel_.empty()) ev.channel(channel_);
}

std::string_view FileSource::offsetKey(uint64_t offset) {
  auto [end, ec] = std::to_chars(keybuf_, keybuf_ + sizeof keybuf_, offset);
  (void)ec;
  return std::string_view(keybuf_, static_cast<size_t>(end - keybuf_));
}

std::string_view FileSource::fallbackKey(uint64_t offset) {
  constexpr std::string_view kPrefix = "offset:";
  std::memcpy(keybuf_, kPrefix.data(), kPrefix.size());
  auto [end, ec] = std::to_chars(keybuf_ + kPrefix.size(), keybuf_ + sizeof keybuf_, offset);
  (void)ec;
  return std::string_view(keybuf_, static_cast<size_t>(end - keybuf_));
}

uint64_t FileSource::absoluteLine(uint64_t lines_read) {
  if (!line_origin_known_) {
    line_origin_ = reader_.countNewlinesBefore(line_origin_offset_);
    line_origin_known_ = true;
  }
  return line_origin_ + lines_read + 1;
}

}  // namespace omniloop::files
