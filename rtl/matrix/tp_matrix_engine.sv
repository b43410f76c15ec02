// tp_matrix_engine: y_t = W x_t for T tokens t (GEMV at T = 1, GEMM above),
// bit-exact with tp::fx::matvec per token (golden/int/quantize.h), from the
// tiles of a weight-image matrix section (docs/weight-image.md) and INT8
// activations with one scale per group of 32.
//
// Structure (docs/matrix-engine.md):
//   loader    takes the weight beats of a command's tiles (32 rows x one block
//             column: value beats, then the scale beat) into one of two tile
//             banks; INT4 nibbles are sign-extended to int8 on the way in.
//             LoadBeats 2: up to two beats per cycle, which may belong to two
//             tiles (the scale beat of one and the first beat of the next,
//             written into the two banks).
//   act       a two-slot activation buffer (block RAM): the groups of a
//             command's T tokens, written in order while the previous command
//             computes.
//   issuer    per tile, for each token t, pass p (Cols of the tile's rows) and
//             K-slice kk (Rows of its 32 inputs): one issue per cycle feeds
//             the Rows x Cols PE array: PE (k, n) multiplies the weight of
//             row p*Cols + n, input kk*Rows + k by the activation of that
//             input, broadcast along the PE row k.
//   columns   tp_pe_column: the block dot product d of each row (exact int32).
//   scalers   tp_block_scaler: d times the two scales, added into the row's
//             64-bit accumulator over the block columns; the last block
//             column emits the Q16.16 result.
//   output    a beat per (row group, token): 32 lanes, FIFO of OutDepth beats.
// The array is a broadcast array (activations fan out along a PE row, column
// sums in pipelined adder trees), not a skewed systolic one: a tile then
// leaves its bank on the cycle of its last issue, so two banks keep batch-1
// GEMV at the weight-port bound (a skewed array holds each tile Rows + Cols
// cycles longer and would need 5 to 9 banks).
//
// Streams (valid/ready; data stable while valid && !ready):
//   cmd   rows (>= 1), cols (1 .. MaxInGroups * 32), tokens (1 .. MaxTokens),
//         int4. A command outside these bounds is dropped and sets
//         err_bad_cmd_o. Commands queue (CmdDepth deep); the next command's tiles
//         load while the current one computes.
//   act   one group per beat: 32 int8 values, the group scale (mantissa,
//         exponent), act_last_i on the last group of the command. Token-major:
//         token 0 groups 0 .. G-1, token 1 ..., G = ceil(cols / 32); values of
//         a group past cols are zero. The k-th activation set belongs to the
//         k-th accepted command; a set whose beat count is not tokens x G sets
//         err_act_count_o (the command still runs on what arrived).
//   w     the matrix section's beats in image order (tp_weight_port's output),
//         w_last_i on the last one; a w_last_i anywhere else, or missing there,
//         sets err_weight_last_o (the loader keeps counting by the command).
//         LoadBeats lanes (tp_weight_port with OutBeats = LoadBeats): beat 0 at
//         [0], [511:0], the beat after it at [1], [1023:512]; valid[1] implies
//         valid[0], and beat 1 moves only together with beat 0. w_ready_o[1]
//         (from flops) is low when beat 0 is the scale beat of the command's
//         last tile (beat 1 belongs to the next command: it waits a cycle) or
//         of a tile whose successor finds its bank still busy.
//   out   for each row group g (32 rows), for each token t: 32 lanes of
//         Q16.16, lane j = row 32 g + j, lanes >= out_rows_o zero;
//         out_last_o on the command's last beat.
// Timing, at most one issue per cycle, never stalled inside the pipeline: a
// tile issues (32 / Cols rounded up to its rows) x (32 / Rows; fewer for the
// last block column when cols is short) x T times, from the cycle after its
// scale beat arrives. The output beat of token t of a row group leaves
// Latency = $clog2(Rows) + 8 cycles after the issue of its last slice.
// Loading: LoadBeats beats per cycle while a bank is free, so a full tile
// takes 17 (INT8) or 9 (INT4) cycles at LoadBeats 1, 8.5 or 4.5 at LoadBeats 2
// (plus a cycle at the end of each command). With weights waiting in the
// port's FIFO, batch-1 GEMV then takes max(load, issue) per tile: 8.5 cycles
// for INT8 at the default 16 x 8 (8 issues), 8 for INT4 (4.5 at 16 x 16).
// Counters (wrap around): busy, waiting for weights, waiting for activations,
// issue cycles blocked by the output, issue cycles (array busy).
// Reset (synchronous, active low): control state only; the command queue,
// loaded tiles, activations and outputs in flight are dropped.
module tp_matrix_engine #(
  parameter int unsigned Rows         = tp_pkg::ArrayRows,       // PEs per column: 2 .. 32, divides 32
  parameter int unsigned Cols         = tp_pkg::ArrayCols,       // PE columns: 1 .. 32, divides 32
  parameter int unsigned MaxTokens    = tp_pkg::MaxBatchTokens,  // tokens per command, power of two >= 2
  parameter int unsigned MaxInGroups  = tp_pkg::MaxHiddenDim / tp_pkg::QuantGroup,  // input groups (cols / 32)
  parameter int unsigned OutDepth     = 16,                      // output FIFO beats, power of two
  parameter int unsigned CmdDepth     = 8,                       // queued commands, power of two >= 2
  parameter int unsigned LoadBeats    = 1,                       // weight beats taken per cycle: 1 or 2
  parameter int unsigned CounterWidth = 32
) (
  input  logic                               clk_i,
  input  logic                               rst_ni,
  // Commands.
  input  logic                               cmd_valid_i,
  output logic                               cmd_ready_o,
  input  logic [15:0]                        cmd_rows_i,
  input  logic [$clog2(MaxInGroups*32+1)-1:0] cmd_cols_i,
  input  logic [$clog2(MaxTokens+1)-1:0]     cmd_tokens_i,
  input  logic                               cmd_int4_i,
  // Activations, one group of 32 per beat.
  input  logic                               act_valid_i,
  output logic                               act_ready_o,
  input  logic [255:0]                       act_q_i,     // value i at [i*8 +: 8], int8
  input  logic [10:0]                        act_mant_i,  // group scale mantissa (0: zero group)
  input  logic [15:0]                        act_exp_i,   // group scale exponent, int16
  input  logic                               act_last_i,
  // Weight beats, LoadBeats lanes (beat i at [i], [i*512 +: 512]).
  input  logic [LoadBeats-1:0]               w_valid_i,
  output logic [LoadBeats-1:0]               w_ready_o,
  input  logic [LoadBeats*512-1:0]           w_data_i,
  input  logic [LoadBeats-1:0]               w_last_i,
  // Results.
  output logic                               out_valid_o,
  input  logic                               out_ready_i,
  output logic [1023:0]                      out_data_o,  // lane j at [j*32 +: 32], Q16.16
  output logic [5:0]                         out_rows_o,  // valid lanes, 1 .. 32
  output logic [$clog2(MaxTokens)-1:0]       out_token_o,
  output logic                               out_last_o,
  // Status (sticky until reset) and performance counters.
  output logic                               err_bad_cmd_o,
  output logic                               err_weight_last_o,
  output logic                               err_act_count_o,
  output logic [CounterWidth-1:0]            perf_busy_o,
  output logic [CounterWidth-1:0]            perf_weight_wait_o,
  output logic [CounterWidth-1:0]            perf_act_wait_o,
  output logic [CounterWidth-1:0]            perf_out_stall_o,
  output logic [CounterWidth-1:0]            perf_issue_o
);

  localparam int unsigned Group     = tp_pkg::QuantGroup;  // 32: tile rows and inputs
  localparam int unsigned Passes    = Group / Cols;
  localparam int unsigned Slices    = Group / Rows;
  localparam int unsigned PassW     = Passes > 1 ? $clog2(Passes) : 1;
  localparam int unsigned SliceW    = Slices > 1 ? $clog2(Slices) : 1;
  localparam int unsigned CountW    = 6;                                // 0 .. 32
  localparam int unsigned ColsW     = $clog2(MaxInGroups * 32 + 1);
  localparam int unsigned TokW      = $clog2(MaxTokens + 1);
  localparam int unsigned TIdxW     = $clog2(MaxTokens);
  localparam int unsigned GroupsW   = $clog2(MaxInGroups + 1);
  localparam int unsigned ActOffW   = $clog2(MaxTokens * MaxInGroups);
  localparam int unsigned ActW      = 256 + 11 + 16;
  localparam int unsigned AccIndexW = PassW + TIdxW;
  localparam int unsigned ColumnLatency = $clog2(Rows) + 2;
  localparam int unsigned ScalerLatency = 4;
  localparam int unsigned OutW      = 1 + TIdxW + CountW + 1024;
  localparam int unsigned OutPtrW   = $clog2(OutDepth);
  localparam int unsigned CmdPtrW   = $clog2(CmdDepth);
  localparam int unsigned CmdCountW = CmdPtrW + 1;
  localparam int unsigned SliceCntW = SliceW + 1;
  localparam int unsigned PassCntW  = PassW + 1;
  localparam int unsigned ActCntW   = ActOffW + 1;
  localparam int unsigned CreditW   = $clog2(OutDepth + 1);

  if (Rows < 2 || Rows > Group || (Rows & (Rows - 1)) != 0) begin : gen_rows_check
    $error("tp_matrix_engine: Rows must be a power of two in [2, 32]");
  end
  if (Cols < 1 || Cols > Group || (Cols & (Cols - 1)) != 0) begin : gen_cols_check
    $error("tp_matrix_engine: Cols must be a power of two in [1, 32]");
  end
  if (MaxTokens < 2 || (MaxTokens & (MaxTokens - 1)) != 0) begin : gen_tokens_check
    $error("tp_matrix_engine: MaxTokens must be a power of two >= 2");
  end
  if (CmdDepth < 2 || (CmdDepth & (CmdDepth - 1)) != 0) begin : gen_cmd_depth_check
    $error("tp_matrix_engine: CmdDepth must be a power of two >= 2");
  end
  if (OutDepth < 2 || (OutDepth & (OutDepth - 1)) != 0) begin : gen_out_check
    $error("tp_matrix_engine: OutDepth must be a power of two >= 2");
  end
  if (LoadBeats < 1 || LoadBeats > 2) begin : gen_load_beats_check
    $error("tp_matrix_engine: LoadBeats must be 1 or 2");
  end

  // ======================================================= command queue ===
  // Deep enough that the weight port, which takes a command together with
  // the engine, prefetches several small matrices ahead of the loader.
  logic                cmd_fire, cmd_ok;
  logic [CmdPtrW:0]    cmdq_count_q;
  logic [CmdPtrW-1:0]  cmdq_wr_q, cmdq_rd_q;
  logic [15:0]         cmdq_rows_q   [CmdDepth];
  logic [ColsW-1:0]    cmdq_cols_q   [CmdDepth];
  logic [TokW-1:0]     cmdq_tokens_q [CmdDepth];
  logic [CmdDepth-1:0] cmdq_int4_q;
  logic                cmdq_pop;

  assign cmd_ready_o = cmdq_count_q != CmdCountW'(CmdDepth);
  assign cmd_fire    = cmd_valid_i & cmd_ready_o;
  assign cmd_ok      = cmd_rows_i != '0 && cmd_cols_i != '0 && cmd_cols_i <= ColsW'(MaxInGroups * 32)
                     && cmd_tokens_i != '0 && cmd_tokens_i <= TokW'(MaxTokens);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      cmdq_count_q <= '0;
      cmdq_wr_q    <= '0;
      cmdq_rd_q    <= '0;
    end else begin
      cmdq_count_q <= cmdq_count_q + {{CmdPtrW{1'b0}}, cmd_fire & cmd_ok} - {{CmdPtrW{1'b0}}, cmdq_pop};
      if (cmd_fire && cmd_ok) cmdq_wr_q <= cmdq_wr_q + 1'b1;
      if (cmdq_pop)           cmdq_rd_q <= cmdq_rd_q + 1'b1;
    end
  end
  for (genvar e = 0; e < CmdDepth; e++) begin : gen_cmdq
    always_ff @(posedge clk_i) begin
      if (cmd_fire && cmd_ok && cmdq_wr_q == CmdPtrW'(e)) begin
        cmdq_rows_q[e]   <= cmd_rows_i;
        cmdq_cols_q[e]   <= cmd_cols_i;
        cmdq_tokens_q[e] <= cmd_tokens_i;
        cmdq_int4_q[e]   <= cmd_int4_i;
      end
    end
  end

  // ============================================================== loader ===
  // Walks the command's tiles: row groups, and per group the block columns.
  // Beat 0 of the weight stream (w_fire) is beat ld_beat_q of the current tile
  // in bank ld_bank_q. Beat 1 (w1_fire, LoadBeats 2) is the beat after it:
  // the next beat of the same tile (a value beat or the scale beat), or, when
  // beat 0 is the scale beat, value beat 0 of the next tile of the command in
  // the other bank. At most one tile closes per cycle (a tile has >= 2 beats),
  // always the current one, so the tile description is the same either way.
  logic                ld_active_q, ld_int4_q, ld_first_tile_q, ld_bank_q;
  logic [15:0]         ld_rows_left_q;      // rows of this and the later groups
  logic [GroupsW-1:0]  ld_groups_q;         // block columns per row
  logic [GroupsW-1:0]  ld_b_q;              // this tile's block column
  logic [4:0]          ld_beat_q;           // beat within the tile
  logic [TokW-1:0]     ld_tokens_q;
  logic [SliceW:0]     ld_last_slices_q;    // K-slices of the last block column
  logic [CountW-1:0]   ld_n;                // rows of this group, 1 .. 32
  logic [4:0]          ld_value_beats;
  logic                ld_scale_beat, ld_last_b, ld_last_group, ld_tile_done, ld_cmd_done;
  logic                w_ready, w_fire;     // beat 0
  logic                ld_closes;           // given w_fire: the current tile closes this cycle
  logic [1:0]          bank_full_q;
  // Beat 1 of the pair, driven by gen_load_two. At LoadBeats 1 these are
  // constants that nothing reads: the constant conditions on LoadBeats below
  // keep the one-beat loader's expressions as they were.
  /* verilator lint_off UNUSEDSIGNAL */
  logic                w1_fire, w1_scale, w1_bank, w1_last_err;
  logic [4:0]          w1_beat;             // its beat within its tile
  logic [511:0]        w1_data;
  /* verilator lint_on UNUSEDSIGNAL */

  assign ld_n           = ld_rows_left_q >= 16'd32 ? CountW'(32) : ld_rows_left_q[CountW-1:0];
  assign ld_value_beats = ld_int4_q ? 5'((ld_n + 6'd3) >> 2) : 5'((ld_n + 6'd1) >> 1);
  assign ld_scale_beat  = ld_beat_q == ld_value_beats;
  assign ld_last_b      = ld_b_q == ld_groups_q - 1'b1;
  assign ld_last_group  = ld_rows_left_q <= 16'd32;
  assign w_ready        = ld_active_q & ~bank_full_q[ld_bank_q];
  assign w_fire         = w_valid_i[0] & w_ready;
  assign ld_closes      = (LoadBeats == 1) ? ld_scale_beat : ld_scale_beat | (w1_fire & w1_scale);
  assign ld_tile_done   = w_fire & ld_closes;
  assign ld_cmd_done    = ld_tile_done & ld_last_b & ld_last_group;

  if (LoadBeats == 2) begin : gen_load_two
    // Where beat 1 goes: the next beat of this tile, or the first of the next
    // tile in the other bank (never into the next command, never into a full
    // bank). Its last flag must be set exactly when it closes the command.
    logic w1_ok;
    assign w1_bank      = ld_bank_q ^ ld_scale_beat;
    assign w1_beat      = ld_scale_beat ? 5'd0 : ld_beat_q + 5'd1;
    assign w1_scale     = ~ld_scale_beat & (ld_beat_q + 5'd1 == ld_value_beats);
    assign w1_ok        = ~ld_scale_beat | (~(ld_last_b & ld_last_group) & ~bank_full_q[~ld_bank_q]);
    assign w_ready_o    = {w_ready & w1_ok, w_ready};
    assign w1_fire      = w_fire & w_valid_i[1] & w1_ok;
    assign w1_data      = w_data_i[512 +: 512];
    assign w1_last_err  = (w_fire && (w_last_i[0] != (ld_scale_beat & ld_last_b & ld_last_group)))
                       || (w1_fire && (w_last_i[1] != (w1_scale & ld_last_b & ld_last_group)));
`ifndef SYNTHESIS
    always_ff @(posedge clk_i) begin
      if (rst_ni) begin
        assert (!(w_valid_i[1] && !w_valid_i[0]))
          else $error("tp_matrix_engine: weight beat 1 valid without beat 0");
      end
    end
`endif
  end else begin : gen_load_one
    assign w_ready_o   = w_ready;
    assign w1_fire     = 1'b0;
    assign w1_scale    = 1'b0;
    assign w1_bank     = 1'b0;
    assign w1_beat     = '0;
    assign w1_data     = '0;
    assign w1_last_err = 1'b0;
  end
  // The next command starts in the cycle the previous one's last beat arrives.
  assign cmdq_pop       = cmdq_count_q != '0 && (!ld_active_q || ld_cmd_done);

  // Command decode at the pop: block columns and the last column's K-slices.
  logic [ColsW-1:0]   next_cols;
  logic [GroupsW-1:0] next_groups;
  logic [5:0]         next_last_inputs;  // inputs of the last block column, 1 .. 32
  assign next_cols        = cmdq_cols_q[cmdq_rd_q];
  assign next_groups      = GroupsW'((next_cols + ColsW'(31)) >> 5);
  assign next_last_inputs = next_cols[4:0] == 5'd0 ? 6'd32 : {1'b0, next_cols[4:0]};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ld_active_q <= 1'b0;
      ld_bank_q   <= 1'b0;
    end else begin
      if (cmdq_pop)         ld_active_q <= 1'b1;
      else if (ld_cmd_done) ld_active_q <= 1'b0;
      if (ld_tile_done)     ld_bank_q   <= ~ld_bank_q;
    end
  end
  always_ff @(posedge clk_i) begin
    if (cmdq_pop) begin
      ld_rows_left_q   <= cmdq_rows_q[cmdq_rd_q];
      ld_groups_q      <= next_groups;
      ld_tokens_q      <= cmdq_tokens_q[cmdq_rd_q];
      ld_int4_q        <= cmdq_int4_q[cmdq_rd_q];
      ld_last_slices_q <= SliceCntW'((next_last_inputs + 6'(Rows - 1)) / 6'(Rows));
      ld_b_q           <= '0;
      ld_beat_q        <= '0;
      ld_first_tile_q  <= 1'b1;
    end else if (w_fire) begin
      ld_beat_q <= (LoadBeats == 1) ? (ld_scale_beat ? 5'd0 : ld_beat_q + 5'd1)
                 : (ld_closes ? {4'd0, w1_fire & ld_scale_beat} : ld_beat_q + {3'd0, w1_fire, ~w1_fire});
      if (ld_closes) begin
        ld_first_tile_q <= 1'b0;
        if (ld_last_b) begin
          ld_b_q         <= '0;
          ld_rows_left_q <= ld_rows_left_q - 16'd32;
        end else begin
          ld_b_q <= ld_b_q + 1'b1;
        end
      end
    end
  end

  // Tile banks: weights (32 rows x 32 int8) and the scale beat, per bank.
  logic [2*Group*256-1:0] bank_w_q;
  logic [2*512-1:0]       bank_s_q;
  for (genvar bank = 0; bank < 2; bank++) begin : gen_bank
    for (genvar j = 0; j < Group; j++) begin : gen_slot
      // Row j of the tile arrives in value beat j / 2 (INT8) or j / 4 (INT4).
      // LoadBeats 2: from beat 0 or beat 1 of the pair (gen_two_beats); the
      // constant conditions keep the one-beat expressions as they were.
      logic [255:0] unpacked_int4;
      logic         write_int8, write_int4;
      logic [255:0] row_two;     // LoadBeats 2: the row from either beat
      logic         write_two;   // LoadBeats 2: either beat writes the row
      for (genvar i = 0; i < 32; i++) begin : gen_nibble
        logic [3:0] nibble;
        assign nibble = w_data_i[(j % 4) * 128 + (i / 2) * 8 + (i % 2) * 4 +: 4];
        assign unpacked_int4[i*8 +: 8] = {{4{nibble[3]}}, nibble};
      end
      assign write_int8 = (LoadBeats == 1) ? w_fire && !ld_scale_beat && ld_bank_q == 1'(bank) && !ld_int4_q
                                             && ld_beat_q == 5'(j / 2)
                        : write_two;
      assign write_int4 = (LoadBeats == 1) ? w_fire && !ld_scale_beat && ld_bank_q == 1'(bank) && ld_int4_q
                                             && ld_beat_q == 5'(j / 4)
                        : 1'b0;
      always_ff @(posedge clk_i) begin
        if (write_int8)      bank_w_q[(bank*Group + j)*256 +: 256] <= (LoadBeats == 1) ? w_data_i[(j % 2)*256 +: 256]
                                                                                       : row_two;
        else if (write_int4) bank_w_q[(bank*Group + j)*256 +: 256] <= unpacked_int4;
      end
      if (LoadBeats == 2) begin : gen_two_beats
        // One write enable and a 4:1 select per bit (beat x INT8 / INT4): one
        // LUT6 per bank bit. The beat select is the slot's beat-1 target from
        // the loader state alone (the two beats never target one slot; the
        // enable says whether a beat arrived). `keep` makes it one signal per
        // slot: without it Yosys/ABC folds the select logic into every bank
        // bit (measured +16k LUT and +25k MUXF at 16 x 8).
        logic [255:0] row_int8, row_unpacked;
        logic [127:0] row_int4;
        logic [4:0]   slot_beat;
        (* keep *) logic w1_target;
        logic         from_w, from_w1;
        assign slot_beat = ld_int4_q ? 5'(j / 4) : 5'(j / 2);
        assign w1_target = !w1_scale && w1_bank == 1'(bank) && w1_beat == slot_beat;
        assign from_w    = w_fire && !ld_scale_beat && ld_bank_q == 1'(bank) && ld_beat_q == slot_beat;
        assign from_w1   = w1_fire && w1_target;
        assign row_int8  = w1_target ? w1_data[(j % 2)*256 +: 256] : w_data_i[(j % 2)*256 +: 256];
        assign row_int4  = w1_target ? w1_data[(j % 4)*128 +: 128] : w_data_i[(j % 4)*128 +: 128];
        for (genvar i = 0; i < 32; i++) begin : gen_nibble
          logic [3:0] nibble;
          assign nibble = row_int4[(i / 2) * 8 + (i % 2) * 4 +: 4];
          assign row_unpacked[i*8 +: 8] = {{4{nibble[3]}}, nibble};
        end
        assign row_two   = ld_int4_q ? row_unpacked : row_int8;
        assign write_two = from_w || from_w1;
      end else begin : gen_one_beat
        assign row_two   = '0;
        assign write_two = 1'b0;
      end
    end
    always_ff @(posedge clk_i) begin
      if (ld_tile_done && ld_bank_q == 1'(bank)) begin
        // Beat 1 closes the tile unless beat 0 is the scale beat.
        bank_s_q[bank*512 +: 512] <= (LoadBeats == 1) ? w_data_i[511:0]
                                   : (ld_scale_beat ? w_data_i[511:0] : w1_data);
      end
    end
  end

  // Per-bank tile description, written with the scale beat.
  logic [CountW-1:0]  meta_n_q      [2];
  logic [GroupsW-1:0] meta_b_q      [2];
  logic [GroupsW-1:0] meta_groups_q [2];
  logic [TokW-1:0]    meta_tokens_q [2];
  logic [SliceW:0]    meta_slices_q [2];
  logic [1:0]         meta_first_b_q, meta_last_b_q, meta_cmd_first_q, meta_cmd_last_q;
  for (genvar bank = 0; bank < 2; bank++) begin : gen_meta
    always_ff @(posedge clk_i) begin
      if (ld_tile_done && ld_bank_q == 1'(bank)) begin
        meta_n_q[bank]         <= ld_n;
        meta_b_q[bank]         <= ld_b_q;
        meta_groups_q[bank]    <= ld_groups_q;
        meta_tokens_q[bank]    <= ld_tokens_q;
        meta_slices_q[bank]    <= ld_last_b ? ld_last_slices_q : SliceCntW'(Slices);
        meta_first_b_q[bank]   <= ld_b_q == '0;
        meta_last_b_q[bank]    <= ld_last_b;
        meta_cmd_first_q[bank] <= ld_first_tile_q;
        meta_cmd_last_q[bank]  <= ld_last_b & ld_last_group;
      end
    end
  end

  // The weight stream's last flag must close the command's last tile (at
  // LoadBeats 2 checked per beat, gen_load_two).
  logic err_weight_last_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) err_weight_last_q <= 1'b0;
    else if ((LoadBeats == 1) ? w_fire && (w_last_i[0] != ld_cmd_done) : w1_last_err) err_weight_last_q <= 1'b1;
  end

  // ================================================== activation buffer ===
  logic                 act_wr_slot_q, act_rd_slot_q, act_fire;
  logic [1:0]           act_full_q;
  logic [ActOffW:0]     act_wr_ptr_q;             // beats of the set so far (saturates at capacity + 1)
  logic [ActOffW:0]     act_count_q [2];
  logic [ActW-1:0]      act_mem [2**(ActOffW+1)];
  logic [ActW-1:0]      act_rd_q;
  logic                 act_clear;                // the issuer frees act_rd_slot_q
  localparam logic [ActOffW:0] ActCapacity = ActCntW'(MaxTokens * MaxInGroups);

  assign act_ready_o = ~act_full_q[act_wr_slot_q];
  assign act_fire    = act_valid_i & act_ready_o;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      act_wr_slot_q <= 1'b0;
      act_wr_ptr_q  <= '0;
    end else if (act_fire) begin
      act_wr_ptr_q  <= act_last_i ? '0 : (act_wr_ptr_q > ActCapacity ? act_wr_ptr_q : act_wr_ptr_q + 1'b1);
      if (act_last_i) act_wr_slot_q <= ~act_wr_slot_q;
    end
  end
  for (genvar slot = 0; slot < 2; slot++) begin : gen_act_slot
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        act_full_q[slot] <= 1'b0;
      end else if (act_fire && act_last_i && act_wr_slot_q == 1'(slot)) begin
        act_full_q[slot] <= 1'b1;
      end else if (act_clear && act_rd_slot_q == 1'(slot)) begin
        act_full_q[slot] <= 1'b0;
      end
    end
    always_ff @(posedge clk_i) begin
      if (act_fire && act_last_i && act_wr_slot_q == 1'(slot)) begin
        act_count_q[slot] <= act_wr_ptr_q > ActCapacity ? act_wr_ptr_q : act_wr_ptr_q + 1'b1;
      end
    end
  end
  always_ff @(posedge clk_i) begin
    if (act_fire && act_wr_ptr_q < ActCapacity) begin
      act_mem[{act_wr_slot_q, act_wr_ptr_q[ActOffW-1:0]}] <= {act_exp_i, act_mant_i, act_q_i};
    end
  end

  // ============================================================== issuer ===
  logic                 rd_bank_q;
  logic [TIdxW-1:0]     is_t_q;
  logic [PassW-1:0]     is_p_q;
  logic [SliceW-1:0]    is_kk_q;
  logic [ActOffW-1:0]   is_act_row_q;             // t x groups
  logic [CreditW-1:0]   credits_q;       // output beats reserved (in flight + queued)
  logic [CountW-1:0]    is_n;
  logic [PassW:0]       is_passes;
  logic                 is_last_kk, is_last_p, is_last_t, is_tile_done;
  logic                 need_credit, have_credit, tile_ready, issue, out_pop;

  assign is_n        = meta_n_q[rd_bank_q];
  assign is_passes   = PassCntW'((is_n + CountW'(Cols - 1)) / CountW'(Cols));
  assign is_last_kk  = {1'b0, is_kk_q} == meta_slices_q[rd_bank_q] - 1'b1;
  assign is_last_p   = {1'b0, is_p_q} == is_passes - 1'b1;
  assign is_last_t   = {1'b0, is_t_q} == meta_tokens_q[rd_bank_q] - 1'b1;
  assign is_tile_done = issue & is_last_kk & is_last_p & is_last_t;
  assign need_credit = meta_last_b_q[rd_bank_q] && is_p_q == '0 && is_kk_q == '0;
  assign have_credit = credits_q != CreditW'(OutDepth);
  assign tile_ready  = bank_full_q[rd_bank_q] & act_full_q[act_rd_slot_q];
  assign issue       = tile_ready & (~need_credit | have_credit);
  assign act_clear   = is_tile_done & meta_cmd_last_q[rd_bank_q];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_bank_q     <= 1'b0;
      act_rd_slot_q <= 1'b0;
      is_t_q        <= '0;
      is_p_q        <= '0;
      is_kk_q       <= '0;
      is_act_row_q  <= '0;
      credits_q     <= '0;
    end else begin
      credits_q <= credits_q + {{(CreditW-1){1'b0}}, issue & need_credit} - {{(CreditW-1){1'b0}}, out_pop};
      if (issue) begin
        is_kk_q <= is_last_kk ? '0 : is_kk_q + 1'b1;
        if (is_last_kk) begin
          is_p_q <= is_last_p ? '0 : is_p_q + 1'b1;
          if (is_last_p) begin
            is_t_q       <= is_last_t ? '0 : is_t_q + 1'b1;
            is_act_row_q <= is_last_t ? '0 : is_act_row_q + ActOffW'(meta_groups_q[rd_bank_q]);
          end
        end
      end
      if (is_tile_done) rd_bank_q     <= ~rd_bank_q;
      if (act_clear)    act_rd_slot_q <= ~act_rd_slot_q;
    end
  end

  for (genvar bank = 0; bank < 2; bank++) begin : gen_bank_full
    always_ff @(posedge clk_i) begin
      if (!rst_ni)                                    bank_full_q[bank] <= 1'b0;
      else if (ld_tile_done && ld_bank_q == 1'(bank))  bank_full_q[bank] <= 1'b1;
      else if (is_tile_done && rd_bank_q == 1'(bank))  bank_full_q[bank] <= 1'b0;
    end
  end

  // The activation set must hold tokens x groups beats.
  logic err_act_count_q;
  logic [ActOffW:0] expected_act_beats;
  assign expected_act_beats = ActCntW'(meta_tokens_q[rd_bank_q] * meta_groups_q[rd_bank_q]);
  always_ff @(posedge clk_i) begin
    if (!rst_ni) err_act_count_q <= 1'b0;
    else if (issue && meta_cmd_first_q[rd_bank_q] && is_t_q == '0 && is_p_q == '0 && is_kk_q == '0
             && act_count_q[act_rd_slot_q] != expected_act_beats) err_act_count_q <= 1'b1;
  end

  // ------------------------------------------ stage 1: operand registers ---
  // The activation group of (token, block column) from the buffer; each
  // column's weights and weight scale from the bank, selected by {bank, pass}.
  logic [PassW:0] bank_pass;  // candidate index: bank x Passes + pass
  if (Passes == 1) begin : gen_one_pass
    assign bank_pass = {{PassW{1'b0}}, rd_bank_q};
  end else begin : gen_passes
    assign bank_pass = {rd_bank_q, is_p_q};
  end

  always_ff @(posedge clk_i) begin
    act_rd_q <= act_mem[{act_rd_slot_q, is_act_row_q + ActOffW'(meta_b_q[rd_bank_q])}];
  end

  // Issue tag. Per slice: first/last K-slice, which slice. Per row result
  // (carried to the output): first/last block column, the command's last
  // token, the token's last pass, pass, token, rows of the group.
  localparam int unsigned ResTagW = 1 + 1 + PassW + TIdxW + CountW;
  localparam int unsigned RowTagW = 2 + ResTagW;
  logic                s1_valid_q, s1_first_kk_q, s1_last_kk_q;
  logic [SliceW-1:0]   s1_kk_q;
  logic [RowTagW-1:0]  s1_row_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) s1_valid_q <= 1'b0;
    else         s1_valid_q <= issue;
  end
  always_ff @(posedge clk_i) begin
    s1_first_kk_q <= is_kk_q == '0;
    s1_last_kk_q  <= is_last_kk;
    s1_kk_q       <= is_kk_q;
    s1_row_q      <= {meta_first_b_q[rd_bank_q], meta_last_b_q[rd_bank_q],
                      meta_cmd_last_q[rd_bank_q] & is_last_t, is_last_p, is_p_q, is_t_q, is_n};
  end

  // The activation slice of the K-slice, broadcast to every column.
  logic [Rows*8-1:0] x_slice;
  assign x_slice = act_rd_q[s1_kk_q * (Rows * 8) +: Rows * 8];

  // Sideband of the block dot products: the row tag, the activation group
  // scale and every column's weight scale, delayed to meet the columns.
  logic [Cols*16-1:0] w_scales_q, sb_w_scales;
  logic               sb_valid, sb_first_b, sb_last_b;
  logic [ResTagW-1:0] sb_res;
  logic [10:0]        sb_x_mant;
  logic [15:0]        sb_x_exp;
  logic [PassW-1:0]   sb_p;
  logic [TIdxW-1:0]   sb_t;
  tp_delay_line #(.Width(RowTagW + 27 + Cols * 16), .Depth(ColumnLatency)) u_column_side (
    .clk_i, .rst_ni,
    .in_valid_i(s1_valid_q & s1_last_kk_q),
    .in_data_i({s1_row_q, act_rd_q[256 +: 27], w_scales_q}),
    .out_valid_o(sb_valid),
    .out_data_o({sb_first_b, sb_last_b, sb_res, sb_x_exp, sb_x_mant, sb_w_scales})
  );
  assign sb_p = sb_res[TIdxW + CountW +: PassW];
  assign sb_t = sb_res[CountW +: TIdxW];

  // Sideband of the row results (last block column only).
  logic               res_side_valid, res_valid, res_cmd_last_t, res_last_p;
  logic [PassW-1:0]   res_p;
  logic [TIdxW-1:0]   res_t;
  logic [CountW-1:0]  res_n;
  logic [Cols-1:0]    value_valids;
  tp_delay_line #(.Width(ResTagW), .Depth(ScalerLatency)) u_scaler_side (
    .clk_i, .rst_ni,
    .in_valid_i(sb_valid & sb_last_b),
    .in_data_i(sb_res),
    .out_valid_o(res_side_valid),
    .out_data_o({res_cmd_last_t, res_last_p, res_p, res_t, res_n})
  );
  assign res_valid = res_side_valid & (&value_valids);

  // ------------------------------------------------------------- columns ---
  logic [Cols*32-1:0] res_values;
  for (genvar n = 0; n < Cols; n++) begin : gen_column
    // Candidates by {bank, pass}: row pass*Cols + n of each bank.
    logic [2*Passes*256-1:0] w_candidates;
    logic [2*Passes*16-1:0]  s_candidates;
    for (genvar c = 0; c < 2 * Passes; c++) begin : gen_candidate
      assign w_candidates[c*256 +: 256] = bank_w_q[((c / Passes) * Group + (c % Passes) * Cols + n) * 256 +: 256];
      assign s_candidates[c*16 +: 16]   = bank_s_q[(c / Passes) * 512 + ((c % Passes) * Cols + n) * 16 +: 16];
    end
    logic [255:0]      row_weights;
    logic [Rows*8-1:0] w_q;
    assign row_weights = w_candidates[bank_pass * 256 +: 256];
    always_ff @(posedge clk_i) begin
      w_q                     <= row_weights[is_kk_q * (Rows * 8) +: Rows * 8];
      w_scales_q[n*16 +: 16] <= s_candidates[bank_pass * 16 +: 16];
    end

    logic               dot_valid;
    logic signed [20:0] dot;
    tp_pe_column #(.Rows(Rows)) u_column (
      .clk_i, .rst_ni,
      .in_valid_i(s1_valid_q),
      .in_w_i(w_q),
      .in_x_i(x_slice),
      .in_first_i(s1_first_kk_q),
      .in_last_i(s1_last_kk_q),
      .out_valid_o(dot_valid),
      .out_dot_o(dot)
    );

    tp_block_scaler #(.Depth(2 ** AccIndexW)) u_scaler (
      .clk_i, .rst_ni,
      .in_valid_i(dot_valid),
      .in_dot_i(dot),
      .in_w_scale_i(sb_w_scales[n*16 +: 16]),
      .in_x_mant_i(sb_x_mant),
      .in_x_exp_i(sb_x_exp),
      .in_first_i(sb_first_b),
      .in_last_i(sb_last_b),
      .in_index_i({sb_p, sb_t}),
      .out_valid_o(value_valids[n]),
      .out_value_o(res_values[n*32 +: 32])
    );
  end

  // ----------------------------------------------------------- assembly ---
  // The passes of a token fill the 32 lanes; the last pass sends the beat.
  logic [1023:0] assembly_q, beat_lanes;
  for (genvar j = 0; j < Group; j++) begin : gen_lane
    logic this_pass;
    assign this_pass = res_p == PassW'(j / Cols);
    assign beat_lanes[j*32 +: 32] = CountW'(j) >= res_n ? 32'd0
                                  : (this_pass ? res_values[(j % Cols)*32 +: 32] : assembly_q[j*32 +: 32]);
    always_ff @(posedge clk_i) begin
      if (res_valid && this_pass) assembly_q[j*32 +: 32] <= res_values[(j % Cols)*32 +: 32];
    end
  end

  // -------------------------------------------------------- output FIFO ---
  logic [OutW-1:0]    out_mem [OutDepth];
  logic [OutPtrW:0]   out_wr_q, out_rd_q;
  logic               out_push;
  assign out_push = res_valid & res_last_p;
  assign out_pop  = out_valid_o & out_ready_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_wr_q <= '0;
      out_rd_q <= '0;
    end else begin
      if (out_push) out_wr_q <= out_wr_q + 1'b1;
      if (out_pop)  out_rd_q <= out_rd_q + 1'b1;
    end
  end
  always_ff @(posedge clk_i) begin
    if (out_push) out_mem[out_wr_q[OutPtrW-1:0]] <= {res_cmd_last_t, res_t, res_n, beat_lanes};
  end
  assign out_valid_o = out_wr_q != out_rd_q;
  assign {out_last_o, out_token_o, out_rows_o, out_data_o} = out_mem[out_rd_q[OutPtrW-1:0]];

  // ------------------------------------------------- status and counters ---
  logic err_bad_cmd_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni)                  err_bad_cmd_q <= 1'b0;
    else if (cmd_fire && !cmd_ok) err_bad_cmd_q <= 1'b1;
  end
  assign err_bad_cmd_o     = err_bad_cmd_q;
  assign err_weight_last_o = err_weight_last_q;
  assign err_act_count_o   = err_act_count_q;

  logic busy, weight_wait, act_wait, out_stall;
  assign busy        = cmdq_count_q != '0 || ld_active_q || bank_full_q != '0 || credits_q != '0;
  assign weight_wait = ~bank_full_q[rd_bank_q] & (ld_active_q | cmdq_count_q != '0);
  assign act_wait    = bank_full_q[rd_bank_q] & ~act_full_q[act_rd_slot_q];
  assign out_stall   = tile_ready & need_credit & ~have_credit;

  logic [CounterWidth-1:0] perf_busy_q, perf_weight_wait_q, perf_act_wait_q, perf_out_stall_q, perf_issue_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      perf_busy_q        <= '0;
      perf_weight_wait_q <= '0;
      perf_act_wait_q    <= '0;
      perf_out_stall_q   <= '0;
      perf_issue_q       <= '0;
    end else begin
      perf_busy_q        <= perf_busy_q + CounterWidth'(busy);
      perf_weight_wait_q <= perf_weight_wait_q + CounterWidth'(weight_wait);
      perf_act_wait_q    <= perf_act_wait_q + CounterWidth'(act_wait);
      perf_out_stall_q   <= perf_out_stall_q + CounterWidth'(out_stall);
      perf_issue_q       <= perf_issue_q + CounterWidth'(issue);
    end
  end
  assign perf_busy_o        = perf_busy_q;
  assign perf_weight_wait_o = perf_weight_wait_q;
  assign perf_act_wait_o    = perf_act_wait_q;
  assign perf_out_stall_o   = perf_out_stall_q;
  assign perf_issue_o       = perf_issue_q;

  // ---------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(16 + ColsW + TokW + 1), .Name("tp_matrix_engine cmd")) u_cmd_check (
    .clk_i, .rst_ni, .valid_i(cmd_valid_i), .ready_i(cmd_ready_o),
    .data_i({cmd_rows_i, cmd_cols_i, cmd_tokens_i, cmd_int4_i})
  );
  tp_stream_checker #(.Width(ActW + 1), .Name("tp_matrix_engine act")) u_act_check (
    .clk_i, .rst_ni, .valid_i(act_valid_i), .ready_i(act_ready_o),
    .data_i({act_exp_i, act_mant_i, act_q_i, act_last_i})
  );
  // Beat 0 of the weight stream (beat 1 moves up into it when left behind).
  tp_stream_checker #(.Width(513), .Name("tp_matrix_engine w")) u_w_check (
    .clk_i, .rst_ni, .valid_i(w_valid_i[0]), .ready_i(w_ready_o[0]), .data_i({w_data_i[511:0], w_last_i[0]})
  );
  tp_stream_checker #(.Width(OutW), .Name("tp_matrix_engine out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_last_o, out_token_o, out_rows_o, out_data_o})
  );
  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      assert (!(out_push && out_wr_q[OutPtrW] != out_rd_q[OutPtrW] && out_wr_q[OutPtrW-1:0] == out_rd_q[OutPtrW-1:0]))
        else $error("tp_matrix_engine: output FIFO overflow (credits broken)");
      assert (credits_q <= CreditW'(OutDepth))
        else $error("tp_matrix_engine: more credits than FIFO entries");
    end
  end
`endif

endmodule
