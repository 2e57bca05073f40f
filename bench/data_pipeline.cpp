// Data-pipeline throughput: samples/s for 512x512 JPEG pairs through decode + Qwen-VL processing +
// collation, with the background loader at 1 and 2 worker threads (and 0: all in the caller).
//   build/bin/bench_data_pipeline [--pairs N] [--batches N] [--micro-batch B] [--family qwen3_vl]
//                                 [--workers 0,1,2] [--packed] [--threads N (ATen intra-op)]
// CPU ms/sample (all threads of the process) is the number to compare on a shared machine;
// samples/s is wall-clock throughput.
// Token ids are a fixed stand-in layout (the tokenizer is not what is measured here).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "editcaption/core/error.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/collate.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/data/loader.h"

namespace {

using namespace ec;
using namespace ec::data;
namespace fs = std::filesystem;

/// A photograph-like 512x512 image: gradients, shapes and mild noise (JPEG quality 90).
void write_image(const fs::path& path, int seed) {
  cv::Mat img(512, 512, CV_8UC3);
  for (int y = 0; y < 512; ++y) {
    for (int x = 0; x < 512; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x + seed * 13) % 256), static_cast<uint8_t>((y * 2 + seed) % 256),
                                          static_cast<uint8_t>((x + y + seed * 7) % 256));
    }
  }
  cv::RNG rng(seed);
  for (int i = 0; i < 12; ++i) {
    cv::Point c(rng.uniform(0, 512), rng.uniform(0, 512));
    cv::Scalar color(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    if (i % 2) {
      cv::circle(img, c, rng.uniform(10, 80), color, -1, cv::LINE_AA);
    } else {
      cv::rectangle(img, c, c + cv::Point(rng.uniform(10, 120), rng.uniform(10, 120)), color, -1);
    }
  }
  cv::Mat noise(512, 512, CV_8UC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  img += noise;
  cv::imwrite(path.string(), img, {cv::IMWRITE_JPEG_QUALITY, 90});
}

struct Args {
  int pairs = 64;
  int batches = 48;
  int micro_batch = 4;
  std::string family = "qwen3_vl";
  std::vector<int> workers{0, 1, 2};
  bool packed = false;
  int threads = 0;
};

/// CPU seconds used by the whole process (all threads): robust to other load on the machine.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UserError("missing value after " + k);
      return argv[++i];
    };
    if (k == "--pairs") a.pairs = std::stoi(value());
    else if (k == "--batches") a.batches = std::stoi(value());
    else if (k == "--micro-batch") a.micro_batch = std::stoi(value());
    else if (k == "--family") a.family = value();
    else if (k == "--packed") a.packed = true;
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--workers") {
      a.workers.clear();
      for (const auto& w : split(value(), ',')) a.workers.push_back(std::stoi(w));
    } else {
      throw UserError("unknown option " + k);
    }
  }
  return a;
}

Sample make_sample(const fs::path& src, const fs::path& tgt, const ImageProcessorOptions& o, const SpecialTokenIds& sp,
                   int64_t index) {
  Sample s;
  s.id = std::to_string(index);
  s.images.push_back(load_and_process_image(src, o));
  s.images.push_back(load_and_process_image(tgt, o));
  s.input_ids = {sp.im_start, 872, 198};
  for (const auto& im : s.images) {
    s.input_ids.push_back(sp.vision_start);
    s.input_ids.insert(s.input_ids.end(), static_cast<size_t>(im.num_tokens()), sp.image_pad);
    s.input_ids.push_back(sp.vision_end);
  }
  for (int i = 0; i < 20; ++i) s.input_ids.push_back(1000 + i);
  s.input_ids.insert(s.input_ids.end(), {sp.im_end, 198, sp.im_start, 77091, 198});
  const size_t prompt = s.input_ids.size();
  for (int i = 0; i < 30; ++i) s.input_ids.push_back(2000 + i);
  s.input_ids.insert(s.input_ids.end(), {sp.im_end, 198});
  s.labels.assign(s.input_ids.size(), kIgnoreIndex);
  for (size_t i = prompt - 1; i + 2 < s.input_ids.size(); ++i) s.labels[i] = s.input_ids[i + 1];
  return s;
}

int run(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.threads > 0) at::set_num_threads(a.threads);
  fs::path dir = fs::temp_directory_path() / ("ec-bench-data-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (int i = 0; i < a.pairs; ++i) {
    write_image(dir / (std::to_string(i) + "_src.jpg"), 2 * i);
    write_image(dir / (std::to_string(i) + "_tgt.jpg"), 2 * i + 1);
  }
  auto options = ImageProcessorOptions::for_family(config::parse_enum<ModelFamily>(a.family, "--family"));
  SpecialTokenIds sp;
  CollateOptions co;
  co.special = sp;
  co.packed = a.packed;

  std::printf("data pipeline: %d pairs of 512x512 JPEG, family %s, micro-batch %d, %s, %d CPU threads (ATen intra-op %d)\n",
              a.pairs, a.family.c_str(), a.micro_batch, a.packed ? "packed" : "padded",
              static_cast<int>(std::thread::hardware_concurrency()), at::get_num_threads());
  std::printf("%-8s %12s %16s %16s\n", "workers", "samples/s", "ms/micro-batch", "CPU ms/sample");
  for (int workers : a.workers) {
    LoaderConfig lc;
    lc.num_workers = workers;
    lc.prefetch = std::max(2, 2 * workers);
    Loader<Sample, SftBatch> loader(
        Sampler(a.pairs, {}, 1, SamplerLayout{a.micro_batch, a.micro_batch, 1, 0}), BadSamplePolicy({}, 1, a.pairs),
        [&](int64_t i) {
          return make_sample(dir / (std::to_string(i) + "_src.jpg"), dir / (std::to_string(i) + "_tgt.jpg"), options, sp, i);
        },
        [&](std::vector<Sample>& items) { return collate_sft(items, co); }, lc);
    for (int i = 0; i < 2; ++i) loader.next();  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    int64_t tokens = 0;
    for (int i = 0; i < a.batches; ++i) tokens += loader.next().batch.inputs.num_tokens();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = cpu_seconds() - cpu0;
    double samples = static_cast<double>(a.batches) * a.micro_batch;
    std::printf("%-8d %12.1f %16.1f %16.1f   (%lld tokens per micro-batch)\n", workers, samples / s,
                1000.0 * s / a.batches, 1000.0 * cpu / samples, static_cast<long long>(tokens / a.batches));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data_pipeline: %s\n", e.what());
    return 1;
  }
}
