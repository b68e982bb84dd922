#include "file_source.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "cursor.h"

namespace omniloop::files {

namespace {
constexpr size_t kBlockSize = 1 << 20;
}  // namespace

FileSource::FileSource(const sdk::Config& config, std::string kind)
    : kind_(std::move(kind)),
      path_(config.str("path")),
      follow_(config.boolean("follow", false)),
      max_record_bytes_(
          static_cast<size_t>(std::max<int64_t>(config.integer("max_record_bytes", 16 << 20), 1))),
      type_(config.str("type", "")),
      channel_(config.str("channel", "")),
      // Room for a record of the limit and its CRLF: a window this full holds a longer record.
      reader_(path_, kBlockSize, max_record_bytes_ + 2) {
  if (path_.empty()) throw sdk::Error(kind_ + ": option 'path' must not be empty");
  if (const sdk::JsonValue* key = config.find("key_field"); key && !key->isNull()) {
    if (key->isString()) {
      key_fields_.push_back(key->text());
    } else if (key->isArray()) {
      key_fields_ = config.strings("key_field");
    } else {
      throw sdk::Error(kind_ + ": option 'key_field' must be a field name or a list of them");
    }
    if (key_fields_.empty()) {
      throw sdk::Error(kind_ + ": option 'key_field' must name at least one field");
    }
    for (size_t i = 0; i < key_fields_.size(); ++i) {
      if (key_fields_[i].empty()) {
        throw sdk::Error(kind_ + ": option 'key_field' item " + std::to_string(i + 1) +
                         " is empty");
      }
      for (size_t j = 0; j < i; ++j) {
        if (key_fields_[j] == key_fields_[i]) {
          throw sdk::Error(kind_ + ": option 'key_field' names '" + key_fields_[i] + "' twice");
        }
      }
    }
  }
  if (config.integer("max_record_bytes", 16 << 20) < 1) {
    throw sdk::Error(kind_ + ": option 'max_record_bytes' must be at least 1");
  }
  std::string error;
  if (!reader_.open(&error)) {
    throw sdk::Error(kind_ + ": " + error + " (check option 'path')");
  }
}

void FileSource::restartAtZero() {
  std::string error;
  if (!reader_.seek(0, &error)) throw sdk::Error(kind_ + ": " + error);
  over_long_.active = false;
  check_bom_ = true;
  lines_ = 0;
  line_origin_offset_ = 0;
  line_origin_known_ = true;
  line_origin_ = 0;
  resetFingerprint();
  onRestart();
}

void FileSource::seekTo(uint64_t offset) {
  std::string error;
  if (!reader_.seek(offset, &error)) throw sdk::Error(kind_ + ": " + error);
  over_long_.active = false;
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
  resumed_ = true;
  if (c->fingerprint == 0) {
    // A cursor from before fingerprints, or taken before the file's first lines were complete:
    // the inode and the size tell.
    if (c->inode != reader_.inode()) {
      host().warn(kind_ + ": '" + path_ +
                  "' is not the file the checkpoint was taken from (rotated); reading it from "
                  "the start");
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
    return;
  }
  // The file at the path is the checkpoint's file when its identifying first lines hash the
  // same and it still holds the offset.
  uint64_t now = 0;
  const bool same = reader_.fingerprint(fingerprint_lines_, false, &now) && now == c->fingerprint;
  if (same && reader_.fileSize() >= c->offset) {
    seekTo(c->offset);
    return;
  }
  const std::string sibling = findRotated(c->fingerprint, c->inode, c->offset);
  if (!sibling.empty()) {
    host().info(kind_ + ": '" + path_ +
                "' was rotated since the checkpoint; reading the rest of '" + sibling +
                "' first, then '" + path_ + "' from the start");
    drain(sibling, c->fingerprint, c->offset);
    return;
  }
  host().warn(kind_ + ": '" + path_ +
              "' is not the file the checkpoint was taken from (rotated or truncated) and the "
              "old file was not found beside it; reading it from the start");
  restartAtZero();
}

std::vector<std::string> FileSource::siblings() const {
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name(entry->d_name);
    if (name.size() <= base.size() + 1 || !name.starts_with(base)) continue;
    const char sep = name[base.size()];
    if (sep != '.' && sep != '-' && sep != '_') continue;
    bool compressed = false;
    for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z"}) {
      compressed = compressed || name.ends_with(ext);
    }
    if (!compressed) out.push_back((slash == std::string::npos ? "" : dir) + std::string(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string FileSource::findRotated(uint64_t fingerprint, uint64_t inode, uint64_t offset) const {
  std::string best;
  bool best_by_inode = false;
  for (const std::string& file : siblings()) {
    uint64_t fp = 0;
    uint64_t ino = 0;
    uint64_t size = 0;
    if (!FileReader::fingerprintOf(file, fingerprint_lines_, false, &fp, &ino, &size)) continue;
    if (fp != fingerprint || size < offset) continue;
    const bool by_inode = ino == inode;
    if (best.empty() || (by_inode && !best_by_inode)) {
      best = file;
      best_by_inode = by_inode;
    }
  }
  return best;
}

void FileSource::queueNewerGenerations(const std::string& drained) {
  pending_.clear();
  // Only the drained file's own naming scheme: "<path>.<digits>" or "<path>-<digits>" (so a
  // "Master.csv.bak" someone made is not read as a generation).
  const std::string_view suffix = std::string_view(drained).substr(path_.size());
  if (drained.size() <= path_.size() + 1 || !drained.starts_with(path_) ||
      suffix.find_first_not_of("0123456789", 1) != std::string_view::npos) {
    return;
  }
  struct stat st {};
  if (::stat(drained.c_str(), &st) != 0) return;
  const auto mtime = [](const struct stat& s) {
    return static_cast<int64_t>(s.st_mtim.tv_sec) * 1000000000 + s.st_mtim.tv_nsec;
  };
  const int64_t drained_mtime = mtime(st);
  std::vector<std::pair<int64_t, std::string>> newer;
  for (const std::string& file : siblings()) {
    if (file == drained || file.size() <= path_.size() + 1 || file[path_.size()] != suffix[0]) {
      continue;
    }
    if (std::string_view(file).substr(path_.size() + 1).find_first_not_of("0123456789") !=
        std::string_view::npos) {
      continue;
    }
    struct stat fs {};
    if (::stat(file.c_str(), &fs) == 0 && S_ISREG(fs.st_mode) && mtime(fs) > drained_mtime) {
      newer.emplace_back(mtime(fs), file);
    }
  }
  std::sort(newer.begin(), newer.end());
  for (auto& entry : newer) pending_.push_back(std::move(entry.second));
}

void FileSource::drain(const std::string& sibling, uint64_t fingerprint, uint64_t offset) {
  std::string error;
  if (!reader_.openFile(sibling, &error)) throw sdk::Retry(kind_ + ": " + error);
  draining_ = true;
  seekTo(offset);
  fp_ = fingerprint;
  fp_final_ = true;
  queueNewerGenerations(sibling);
}

void FileSource::finishDrain() {
  std::string error;
  while (!pending_.empty()) {
    // A generation rotated after the drained one, while omniloop was stopped: read it whole.
    const std::string next = pending_.front();
    pending_.erase(pending_.begin());
    if (!reader_.openFile(next, &error)) continue;  // compressed or removed meanwhile
    host().info(kind_ + ": reading '" + next + "', rotated from '" + path_ +
                "' after the checkpoint's file");
    restartAtZero();
    return;
  }
  draining_ = false;
  if (!reader_.open(&error)) throw sdk::Retry(kind_ + ": " + error);
  restartAtZero();
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

void FileSource::startRead() {
  if (!recheck_) return;
  recheck_ = false;
  // A rotation (`create`) is followed at the end of the old file, which may still grow.
  if (reader_.window().empty()) handleRotation(/*truncation_only=*/true);
}

bool FileSource::handleRotation(bool truncation_only) {
  FileReader::Change change = reader_.detectChange();
  if (truncation_only && change == FileReader::Change::kRotated) {
    change = reader_.fileSize() < reader_.offset() ? FileReader::Change::kTruncated
                                                   : FileReader::Change::kNone;
  }
  if (change == FileReader::Change::kNone && fp_final_) {
    // Truncated and written again past the old size before this check (copytruncate): the
    // first lines are not the ones read.
    uint64_t now = 0;
    if (reader_.fingerprint(fingerprint_lines_, true, &now) && now != fp_) {
      change = FileReader::Change::kTruncated;
    }
  }
  switch (change) {
    case FileReader::Change::kNone:
      return false;
    case FileReader::Change::kRotated: {
      host().warn(kind_ + ": '" + path_ + "' was replaced by a new file (rotated); reading it");
      std::string error;
      if (!reader_.open(&error)) throw sdk::Retry(kind_ + ": " + error);
      restartAtZero();
      return true;
    }
    case FileReader::Change::kTruncated: {
      // copytruncate copied the file first: what was appended after the last read is in the copy.
      const std::string copy =
          fp_final_ ? findRotated(fp_, 0, reader_.offset() + 1) : std::string();
      if (!copy.empty()) {
        host().warn(kind_ + ": '" + path_ +
                    "' was truncated (copytruncate); reading the rest of '" + copy + "', then '" +
                    path_ + "' from the start");
        drain(copy, fp_, reader_.offset());
        return true;
      }
      host().warn(kind_ + ": '" + path_ + "' was truncated; reading it from the start");
      restartAtZero();
      return true;
    }
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
  bool switched = false;
  if (eof && !stopped_early && reader_.window().empty() && draining_) {
    finishDrain();  // the rotated file is read to its end: on to the path
    switched = true;
  } else if (eof && follow_ && !stopped_early) {
    switched = handleRotation();
  }
  setCursor(out);
  reportCounters();
  read_since_resume_ += appended;
  // Read on at once when the next file has bytes to read.
  if (switched && (appended > 0 || reader_.fileSize() > reader_.offset())) return OL_OK;
  const bool end = !switched && eof && !follow_ && !stopped_early && reader_.window().empty();
  // Whatever happens to the file before the next read (a copytruncate that writes more than
  // was there) is checked for before reading on.
  recheck_ = eof && follow_ && !switched;
  if (resumed_ && !announced_ && read_since_resume_ == 0 && (end || appended == 0)) {
    announced_ = true;
    host().info(kind_ + ": resumed at line " + std::to_string(absoluteLine(lines_)) + " of '" +
                reader_.file() + "': nothing new");
  }
  if (end) return OL_END;
  if (appended > 0 || batch_full) return OL_OK;
  return OL_IDLE;
}

void FileSource::setCursor(sdk::BatchWriter& out) {
  // Only a fingerprint of the whole identifying prefix names the file (see resume()).
  fingerprint();
  // While an over-long record is skipped, the cursor stays at its start (see OverLong).
  const uint64_t offset = over_long_.active ? over_long_.offset : reader_.offset();
  out.cursor(formatCursor(offset, reader_.inode(), fp_final_ ? fp_ : 0, path_));
}

void FileSource::startOverLong(std::string reason) {
  over_long_.active = true;
  over_long_.offset = reader_.offset();
  over_long_.lines = lines_;
  over_long_.reason = std::move(reason);
  over_long_.preview.clear();
}

void FileSource::keepPreview(std::string_view bytes) {
  const size_t room = kRawPreview - std::min(kRawPreview, over_long_.preview.size());
  over_long_.preview.append(bytes.data(), std::min(room, bytes.size()));
}

bool FileSource::appendOverLong(sdk::BatchWriter& out, std::string_view last) {
  sdk::EventBuilder ev = out.append();
  if (!ev) return false;
  keepPreview(last);
  ev.key(offsetKey(over_long_.offset));
  setStaticEnvelope(ev);
  ev.deadLetter(over_long_.preview, over_long_.reason);
  ++dead_letters_;
  over_long_.active = false;
  return true;
}

std::string FileSource::overLongReason(const std::string& where) const {
  return kind_ + ": " + where + " is longer than max_record_bytes (" +
         std::to_string(max_record_bytes_) + " bytes); skipped";
}

uint64_t FileSource::fingerprint() {
  if (fp_final_) return fp_;
  if (reader_.fingerprint(fingerprint_lines_, false, &fp_)) {
    fp_final_ = true;
  } else if (!reader_.fingerprint(fingerprint_lines_, true, &fp_)) {
    fp_ = 0;  // an empty file
  }
  return fp_;
}

void FileSource::setStaticEnvelope(sdk::EventBuilder& ev) const {
  if (!type_.empty()) ev.type(type_);
  if (!channel_.empty()) ev.channel(channel_);
}

std::string_view FileSource::offsetKey(uint64_t offset) {
  formatFingerprint(fingerprint(), keybuf_);
  keybuf_[16] = ':';
  auto [end, ec] = std::to_chars(keybuf_ + 17, keybuf_ + sizeof keybuf_, offset);
  (void)ec;
  return std::string_view(keybuf_, static_cast<size_t>(end - keybuf_));
}

std::string_view FileSource::fallbackKey(uint64_t offset) {
  constexpr std::string_view kPrefix = "offset:";
  std::memcpy(keybuf_, kPrefix.data(), kPrefix.size());
  formatFingerprint(fingerprint(), keybuf_ + kPrefix.size());
  keybuf_[kPrefix.size() + 16] = ':';
  auto [end, ec] = std::to_chars(keybuf_ + kPrefix.size() + 17, keybuf_ + sizeof keybuf_, offset);
  (void)ec;
  return std::string_view(keybuf_, static_cast<size_t>(end - keybuf_));
}

std::string_view FileSource::joinKey(const std::string_view* values, size_t n) {
  if (n == 1) return values[0];
  joined_key_.clear();
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    if (i) joined_key_ += '\x1f';
    joined_key_ += values[i];
    any = any || !values[i].empty();
  }
  return any ? std::string_view(joined_key_) : std::string_view();
}

std::string FileSource::lineOf(uint64_t lines_read) {
  return "line " + std::to_string(absoluteLine(lines_read)) + " of '" + reader_.file() + "'";
}

uint64_t FileSource::absoluteLine(uint64_t lines_read) {
  if (!line_origin_known_) {
    line_origin_ = reader_.countNewlinesBefore(line_origin_offset_);
    line_origin_known_ = true;
  }
  return line_origin_ + lines_read + 1;
}

}  // namespace omniloop::files
