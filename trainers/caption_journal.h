// The journal that makes `caption --manifest` resumable. <out>.partial holds a header line naming
// what is being captioned (manifest digest, model identity, settings digest, samples per record)
// and one line per finished caption, appended and fsynced after every generated batch. A run
// interrupted by a crash, a kill or a preemption and started again with the same arguments reads
// it, generates only what is missing and writes the same <out> an uninterrupted run writes (the
// captions do not depend on batching: captioner.h); the journal is removed once <out> is complete.
// A last line cut short by the interruption is dropped; any other malformed line, or a header
// that does not match the new run, is a UserError naming the file (restart = start over).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "trainers/captioner.h"

namespace ec::train {

class CaptionJournal {
 public:
  /// Opens (or creates) `path` for a run described by `header`. With `restart` an existing journal
  /// is discarded.
  CaptionJournal(std::filesystem::path path, nlohmann::ordered_json header, bool restart);
  ~CaptionJournal();
  CaptionJournal(const CaptionJournal&) = delete;
  CaptionJournal& operator=(const CaptionJournal&) = delete;

  /// Captions an earlier run finished, in the order they were written.
  const std::vector<Caption>& done() const { return done_; }
  /// Appends the captions and makes them durable before returning.
  void append(const std::vector<Caption>& captions);
  /// The output is complete: removes the journal.
  void finish();

  const std::filesystem::path& path() const { return path_; }

 private:
  void load(const nlohmann::ordered_json& header);
  void write(const std::string& text);

  std::filesystem::path path_;
  std::vector<Caption> done_;
  int fd_ = -1;
};

}  // namespace ec::train
