// tp_pkg: compile-time configuration of the tokenpipe accelerator.
//
// Every value here is a MAXIMUM that sizes on-chip storage and counters. The
// actual model dimensions arrive at run time from the checkpoint header and may
// be anything up to these limits (hidden_dim need not be a multiple of
// QuantGroup: short rows are zero-padded to the next group).
//
// Reference points (llama2.c checkpoints, dim/hidden/layers/heads/kv/vocab/seq):
//   stories260K  64 /  172 /  5 /  8 / 4 /   512 /  512   (the test model)
//   aidreams260K 64 /  172 /  4 /  4 / 4 /   512 /  128
//   stories15M  288 /  768 /  6 /  6 / 6 / 32000 /  256
//   stories42M  512 / 1376 /  8 /  8 / 8 / 32000 / 1024
// The maxima below cover all of them.
//
// Yosys 0.23 rule: refer to items as `tp_pkg::Name`; never `import tp_pkg::*`.
package tp_pkg;

  // ---------------------------------------------------------------- model ---
  // Model (residual stream) width `dim`. Sizes the activation buffers.
  localparam int unsigned MaxDim       = 512;
  // FFN width `hidden_dim`, rounded up to a multiple of QuantGroup and of
  // ArrayRows. Sizes the SiLU*gate buffer.
  localparam int unsigned MaxHiddenDim = 1536;
  // Transformer layers the sequencer can iterate over (layer counter width).
  localparam int unsigned MaxLayers    = 16;
  // Query heads per layer.
  localparam int unsigned MaxHeads     = 16;
  // Key/value heads per layer (grouped-query attention: heads % kv_heads == 0).
  localparam int unsigned MaxKvHeads   = 16;
  // Elements per head (dim / heads). Sizes the attention engine's q/k/v rows.
  localparam int unsigned MaxHeadDim   = 128;
  // Vocabulary size: rows of the classifier, range of the sampler's argmax.
  localparam int unsigned MaxVocab     = 32000;
  // Context length in tokens: positions of RoPE and of the KV cache.
  localparam int unsigned MaxSeqLen    = 1024;

  // ------------------------------------------------------------- hardware ---
  // Matrix engine PE array: ArrayRows PEs per column (input features of a
  // 32-weight block per cycle) x ArrayCols columns (output rows in parallel);
  // both divide 32. A 32-row x 32-input weight tile takes
  // (32 / ArrayRows) x (32 / ArrayCols) cycles per token: 8 at 16 x 8, within
  // the 9 (INT4) and 17 (INT8) weight-port cycles a tile takes to arrive, so
  // batch-1 GEMV runs at the port bound. 32 x 32 (1024 MACs/cycle) is valid.
  localparam int unsigned ArrayRows    = 16;
  localparam int unsigned ArrayCols    = 8;
  // Tokens of one GEMM command (prefill block or decode batch): sizes the
  // matrix engine's activation buffer and accumulators.
  localparam int unsigned MaxBatchTokens = 32;
  // Tokens per KV-cache page (the paged KV-cache manager's allocation unit).
  localparam int unsigned PageSize     = 16;
  // Data bits per beat of the AXI4 weight read port (64 B per cycle).
  localparam int unsigned WeightPortBits = 512;
  // Quantization block: elements sharing one fp16 scale, along the input
  // dimension, for INT8/INT4 weights and for dynamic INT8 activations.
  localparam int unsigned QuantGroup   = 32;

endpackage
