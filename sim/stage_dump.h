// --dump-stages: every step's output as .npy plus manifest.json, enough for
// an independent program to replay any step and check it bit for bit
// (tests/cube_numpy_test.py does so with numpy).
//
// Layout of DIR:
//   manifest.json             see README "Stage dumps"; "files" lists every
//                             file of the dump (manifest.json included)
//   input_L.npy               L after rounding to the input format (float64)
//   step_NNNN_BUF.npy         the whole buffer BUF after step NNNN (float64
//                             holding the stored format's values exactly)
//   step_NNNN_opK_codes.npy   integer cube operands: codes (int32) of
//   step_NNNN_opK_scales.npy  operand K and their fp32 scales (one per group)
//   step_NNNN_out_scales.npy  integer storage: the fp32 scales the step's
//                             output was stored with (one per group)
//   layer_NAME.npy            layer recipes on npy-gdn input: the chunk's
//                             layer tensors A, T, W, U, Vn, O, S_next (in
//                             the format's dtype; manifest "outputs", which
//                             compare --expected-outputs reads)
//
// Where the dump goes, and what an existing DIR may lose (only the files a
// previous dump's manifest lists, and only with --force), is decided by
// core/output_files.h: the caller declares DIR there, which gives the empty
// temporary directory WriteStageDump writes into, and publishes it.
#pragma once

#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/plan.h"
#include "quant/format.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {

// One tensor of the GDN layer chunk around the inverse (sim/gdn_layer.h):
// A, T, W, U, Vn, O, S' of the dumped chunk, in its recipe format.
struct LayerStage {
  std::string name;      // "A", "T", "W", "U", "Vn", "O", "S_next"
  quant::Format format;  // recipe format of the stored values
  Mat values;
};

// Writes the dump of one run (`record` from Executor::Run with keep_buffers)
// into `dir`, an empty directory. With `layer` (a layer recipe on npy-gdn
// input) the chunk's layer tensors are written as layer_NAME.npy (in the
// format's dtype: fp16 '<f2', bf16 '<u2' bits, fp32 '<f4') and listed under
// "outputs" in the
// manifest, in the form `trisim compare --expected-outputs` reads
// ({"name", "file", "format", "rows", "cols"}; sim/compare.h
// CompareOutputSets). Throws InputError if a file cannot be written.
void WriteStageDump(const std::string& dir, const Plan& plan,
                    const Recipe& recipe, const Executor& executor,
                    const RunRecord& record,
                    const std::vector<LayerStage>& layer = {});

// The files a previous trisim stage dump in `dir` lists in its manifest.json
// (plain names, manifest.json included); empty when `dir` holds no manifest
// written by trisim (Outputs::OwnedFiles for --dump-stages).
std::vector<std::string> StageDumpFiles(const std::string& dir);

}  // namespace trisim
