#include "editcaption/data/manifest_check.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <c10/util/ParallelGuard.h>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/progress.h"

namespace ec::data {
namespace {

std::string read_image_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code err;
  if (!std::filesystem::exists(path, err)) throw EC_USER_ERROR(Input, "{}: file not found", name);
  if (!std::filesystem::is_regular_file(path, err)) throw EC_USER_ERROR(Input, "{}: not a regular file", name);
  return read_file(path);
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ImageHeader checked_header(const std::string& bytes, const std::string& name, const ImageProcessorOptions& image) {
  ImageHeader h = parse_image_header(as_bytes(bytes), name, /*complete=*/true);
  try {
    smart_resize(h.height(), h.width(), image.factor(), image.min_pixels, image.max_pixels);
  } catch (const UserError& e) {
    throw EC_USER_ERROR(Input, "{}: {}", name, e.what());
  }
  return h;
}

/// Decodes one image (or only checks the decode limit) at the size the plan gives it.
void check_decode(const std::string& bytes, const ImageHeader& h, const std::string& name,
                  const ImageProcessorOptions& image, bool decode) {
  ResizeTarget t = smart_resize(h.height(), h.width(), image.factor(), image.min_pixels, image.max_pixels);
  DecodeOptions d = image.decode;
  d.min_height = t.height;
  d.min_width = t.width;
  if (decode) {
    decode_image(as_bytes(bytes), name, d);
  } else {
    check_decode_limit(h, d, name);
  }
}

template <class E>
std::string enum_label(const std::optional<E>& e) {
  return e ? config::enum_name(*e) : "(none)";
}

void append_counts(std::string& out, const char* title, const std::map<std::string, int64_t>& counts) {
  if (counts.empty()) return;
  out += fmt::format("{:<15}", title);
  std::vector<std::string> parts;
  for (const auto& [k, v] : counts) parts.push_back(fmt::format("{} {}", k, v));
  out += join(parts, ", ") + "\n";
}

}  // namespace

TextTokenCounter estimate_text_tokens(const BudgetConfig& budget) {
  const int64_t base = budget.template_tokens;
  return [base](const ManifestRecord& r) {
    size_t answer = std::max({r.instruction.size(), r.chosen.size(), r.rejected.size()});
    return base + static_cast<int64_t>(answer);
  };
}

RecordImages read_record_images(const ManifestRecord& record, const ImageProcessorOptions& image) {
  EC_CHECK(record.ok(), "read_record_images on a bad record");
  RecordImages r;
  r.source_bytes = read_image_file(record.source);
  r.source = checked_header(r.source_bytes, record.source.string(), image);
  r.target_bytes = read_image_file(record.target);
  r.target = checked_header(r.target_bytes, record.target.string(), image);
  return r;
}

SamplePlan check_record(const ManifestRecord& record, int64_t text_tokens, const ImageProcessorOptions& image,
                        const BudgetConfig& budget, bool decode) {
  RecordImages r = read_record_images(record, image);
  SamplePlan plan = plan_sample(r.source.height(), r.source.width(), r.target.height(), r.target.width(), text_tokens,
                                image, budget);
  ImageProcessorOptions planned = options_for_plan(image, plan);
  check_decode(r.source_bytes, r.source, record.source.string(), planned, decode);
  check_decode(r.target_bytes, r.target, record.target.string(), planned, decode);
  return plan;
}

CheckReport check_manifest(const Manifest& m, const CheckOptions& options) {
  CheckReport report;
  report.manifest = m.path;
  report.fingerprint = m.fingerprint;
  report.kind = m.kind;
  report.records = m.size();
  report.max_seq_len = options.budget.max_seq_len;
  report.tokens_estimated = !options.count_text;
  report.warnings = m.warnings;
  TextTokenCounter count = options.count_text ? options.count_text : estimate_text_tokens(options.budget);

  // Per-record results, filled by the workers; the report is assembled in file order.
  struct Result {
    std::optional<std::string> problem;
    SamplePlan plan;
  };
  std::vector<Result> results(m.records.size());
  std::atomic<size_t> next{0}, done{0};
  auto work = [&] {
    c10::ParallelGuard inline_aten(true);  // the checking threads are the parallelism
    for (size_t i = next++; i < m.records.size(); i = next++) {
      const ManifestRecord& r = m.records[i];
      if (!r.ok()) {
        results[i].problem = *r.problem;
      } else {
        try {
          results[i].plan = check_record(r, count(r), options.image, options.budget, options.decode);
        } catch (const UserError& e) {
          results[i].problem = e.what();
        }
      }
      ++done;
    }
  };
  {
    Progress progress("data check", m.size(), "records", ProgressOptions{0, 10.0, options.progress ? -1 : 0});
    std::vector<std::jthread> workers;
    for (int j = 0; j < std::max(1, options.jobs); ++j) workers.emplace_back(work);
    size_t shown = 0;
    while (shown < m.records.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      size_t now = done.load();
      if (now > shown) progress.advance(static_cast<int64_t>(now - shown));
      shown = now;
    }
    progress.finish();
  }

  double token_sum = 0;
  for (size_t i = 0; i < m.records.size(); ++i) {
    const ManifestRecord& r = m.records[i];
    if (results[i].problem) {
      report.problems.push_back({r.line, r.id, *results[i].problem});
      continue;
    }
    const SamplePlan& p = results[i].plan;
    ++report.valid;
    report.downscaled += p.downscaled ? 1 : 0;
    report.max_tokens = std::max(report.max_tokens, p.total_tokens());
    token_sum += static_cast<double>(p.total_tokens());
    if (m.kind == ManifestKind::Sft) {
      ++report.by_category[enum_label(r.category)];
      if (r.subcategory) ++report.by_subcategory[*r.subcategory];
    } else {
      ++report.by_error_type[enum_label(r.error_type)];
      ++report.by_severity[enum_label(r.severity)];
    }
    if (p.downscaled) {
      report.warnings.push_back({r.line, r.id,
                                 fmt::format("over the token budget at full size: images downscaled to max_pixels {} "
                                             "({} tokens)",
                                             p.max_pixels, p.total_tokens())});
    }
    if (r.source == r.target) report.warnings.push_back({r.line, r.id, "source and target are the same file"});
  }
  std::stable_sort(report.warnings.begin(), report.warnings.end(),
                   [](const ManifestProblem& a, const ManifestProblem& b) { return a.line < b.line; });
  report.mean_tokens = report.valid ? token_sum / static_cast<double>(report.valid) : 0.0;
  return report;
}

std::string format_check_report(const CheckReport& r) {
  std::string out;
  out += fmt::format("manifest       {} ({}, {} records, sha256 {})\n", r.manifest.string(), config::enum_name(r.kind),
                     r.records, r.fingerprint.substr(0, 16));
  out += fmt::format("valid          {}\n", r.valid);
  out += fmt::format("bad            {}\n", r.problems.size());
  out += fmt::format("downscaled     {} (over the token budget at full size)\n", r.downscaled);
  out += fmt::format("tokens         max {}, mean {:.1f}, limit {}{}\n", r.max_tokens, r.mean_tokens,
                     r.max_seq_len > 0 ? std::to_string(r.max_seq_len) : "none",
                     r.tokens_estimated ? " (text estimated without a tokenizer: an upper bound)" : "");
  append_counts(out, "category", r.by_category);
  append_counts(out, "subcategory", r.by_subcategory);
  append_counts(out, "error_type", r.by_error_type);
  append_counts(out, "severity", r.by_severity);
  if (!r.problems.empty()) {
    out += fmt::format("\nproblems ({}):\n", r.problems.size());
    for (const auto& p : r.problems) out += "  " + p.str(r.manifest) + "\n";
  }
  if (!r.warnings.empty()) {
    out += fmt::format("\nwarnings ({}):\n", r.warnings.size());
    for (const auto& p : r.warnings) out += "  " + p.str(r.manifest) + "\n";
  }
  return out;
}

nlohmann::ordered_json check_report_json(const CheckReport& r) {
  auto problems = [&](const std::vector<ManifestProblem>& list) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& p : list) arr.push_back({{"line", p.line}, {"id", p.id}, {"reason", p.reason}});
    return arr;
  };
  nlohmann::ordered_json j;
  j["manifest"] = r.manifest.string();
  j["sha256"] = r.fingerprint;
  j["kind"] = config::enum_name(r.kind);
  j["records"] = r.records;
  j["valid"] = r.valid;
  j["bad"] = r.problems.size();
  j["downscaled"] = r.downscaled;
  j["max_tokens"] = r.max_tokens;
  j["mean_tokens"] = r.mean_tokens;
  j["max_seq_len"] = r.max_seq_len;
  j["tokens_estimated"] = r.tokens_estimated;
  j["by_category"] = r.by_category;
  j["by_subcategory"] = r.by_subcategory;
  j["by_error_type"] = r.by_error_type;
  j["by_severity"] = r.by_severity;
  j["problems"] = problems(r.problems);
  j["warnings"] = problems(r.warnings);
  return j;
}

}  // namespace ec::data
