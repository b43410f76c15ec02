// tp_sequencer: runs the host's commands (docs/accelerator.md, "Host
// interface") on the token pipeline: one command at a time, each ending with
// a status; sequences keep their own state (open, length, last token) and
// their own KV page table in tp_kv_page_manager, so several sequences at
// different positions share the engines (a scheduler picking the next
// sequence later needs no change here).
//
// Command word: [31:28] opcode, [27:24] sequence, [15:0] PROMPT's count.
//   1 LOAD          read the gains of the configured image (tp_token_pipeline)
//   2 OPEN(seq)     a new empty sequence
//   3 PROMPT(seq,n) n tokens from the token-in stream at the sequence's next
//                   positions, in prefill blocks of up to MaxBlock tokens;
//                   the argmax after the last one goes to the token-out stream
//   4 STEP(seq)     one decode token: the sequence's last produced token
//   5 CLOSE(seq)    frees the sequence's KV pages
// Status (status_o, with the count of completed commands):
//   0 OK, 1 BAD_CONFIG (configuration refused, or no LOAD since it was last
//   written), 2 BAD_STATE
//   (sequence closed / already open / STEP before any token), 3 BAD_SEQ (id >=
//   MaxSeqs), 4 SEQ_FULL (a position would reach seq_len), 5 NO_PAGE (not
//   enough free KV pages for the whole command), 6 BAD_TOKEN (id >= vocab),
//   7 BAD_CMD (unknown opcode, reserved bits [23:16] set, PROMPT of 0
//   tokens), 8 HW_ERROR (a unit raised an error during the command, or had
//   raised one before: the units' errors are sticky, so after one every
//   command completes with HW_ERROR without running, until reset).
// Every check happens before anything is stored, so a refused command changes
// nothing; a refused PROMPT still takes its n tokens off the token-in stream
// so the stream stays in step with the commands. The one exception is a
// prompt token >= vocab (BAD_TOKEN), which can only be seen as the tokens
// arrive (tp_host_csr refuses such ids at TOKEN_IN, but the vocabulary may
// shrink after they were written): the earlier blocks of the PROMPT may have
// run, so the sequence is closed (its KV pages freed) and must be opened again.
// Token-out word: {seq[3:0], pos[10:0], 1'b0, token[14:0]} with pos the
// position the token will take.
module tp_sequencer #(
  parameter int unsigned MaxBlock  = tp_pkg::MaxBatchTokens,  // tokens per prefill block
  parameter int unsigned NumPages  = 64,
  parameter int unsigned MaxSeqs   = 8,
  parameter int unsigned MaxSeqLen = tp_pkg::MaxSeqLen,
  parameter int unsigned PageSize  = tp_pkg::PageSize,
  // Derived: do not override.
  parameter int unsigned TokW      = $clog2(MaxBlock),
  parameter int unsigned SeqW      = $clog2(MaxSeqs),
  parameter int unsigned LPageW    = $clog2(MaxSeqLen / PageSize),
  parameter int unsigned PPageW    = $clog2(NumPages)
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // Configuration.
  input  logic                   cfg_ok_i,        // host registers and pipeline accept it
  input  logic                   cfg_write_i,     // the host wrote the configuration: LOAD again
  input  logic [15:0]            cfg_seq_len_i,
  input  logic [15:0]            cfg_vocab_i,
  // Host streams (tp_host_csr).
  input  logic                   cmd_valid_i,
  output logic                   cmd_ready_o,
  input  logic [31:0]            cmd_data_i,
  input  logic                   tok_in_valid_i,
  output logic                   tok_in_ready_o,
  input  logic [14:0]            tok_in_data_i,
  output logic                   tok_out_valid_o,
  input  logic                   tok_out_ready_i,
  output logic [30:0]            tok_out_data_o,
  // Token pipeline.
  output logic                   load_o,
  output logic                   start_o,
  output logic [TokW:0]          blk_tokens_o,
  output logic [15:0]            blk_pos_o,
  output logic [SeqW-1:0]        blk_seq_o,
  output logic                   blk_logits_o,
  output logic                   tok_we_o,
  output logic [TokW-1:0]        tok_addr_o,
  output logic [14:0]            tok_data_o,
  output logic                   page_we_o,
  output logic [SeqW+LPageW-1:0] page_addr_o,
  output logic [PPageW-1:0]      page_data_o,
  input  logic                   pipe_busy_i,
  input  logic                   pipe_done_i,
  input  logic [14:0]            pipe_token_i,
  input  logic [3:0]             pipe_err_i,
  // Status and counters.
  output logic                   busy_o,
  output logic [31:0]            status_o,        // [31:16] commands completed, [3:0] last status
  output logic [31:0]            perf_prefill_cycles_o,
  output logic [31:0]            perf_prefill_tokens_o,
  output logic [31:0]            perf_decode_cycles_o,
  output logic [31:0]            perf_decode_tokens_o
);

  localparam logic [3:0] OpLoad = 4'd1, OpOpen = 4'd2, OpPrompt = 4'd3, OpStep = 4'd4, OpClose = 4'd5;
  localparam logic [3:0] StOk = 4'd0, StBadConfig = 4'd1, StBadState = 4'd2, StBadSeq = 4'd3,
                         StSeqFull = 4'd4, StNoPage = 4'd5, StBadToken = 4'd6, StBadCmd = 4'd7,
                         StHwError = 4'd8;
  localparam logic [2:0] PmOpen = 3'd0, PmAppend = 3'd2, PmClose = 3'd4;
  localparam int unsigned PageShift = $clog2(PageSize);

  typedef enum logic [3:0] {
    SIdle, SCheck, SDrain, SLoad, SPmReq, SPmRsp, SFill, SAppend, SAppendRsp, SRun, SWait, SEmit, SFinish
  } state_e;

  state_e          state_q;
  logic [3:0]      op_q, status_q;
  logic            reserved_q;
  logic [3:0]      seq_id_q;        // as given (may be out of range)
  logic [SeqW-1:0] seq_q;
  logic [15:0]     count_q;         // PROMPT: tokens not yet taken off the stream
  logic [15:0]     done_count_q;
  logic            loaded_q;

  // Per-sequence state (LUT RAM).
  logic [MaxSeqs-1:0] open_q, has_token_q;
  logic [14:0]     last_token_q [MaxSeqs];
  logic [15:0]     len_q [MaxSeqs];

  // Block being built and run.
  logic [TokW:0]   blk_n_q;         // tokens in the block
  logic [TokW:0]   fill_q;          // tokens written so far
  logic [15:0]     blk_pos_q;
  logic            blk_last_q;      // the command's last block (computes the logits)
  logic [14:0]     fill_token_q;
  logic            load_issued_q;   // LOAD: the pipeline took the request

  // Page manager.
  logic            pm_req_valid, pm_req_ready, pm_rsp_valid;
  logic [2:0]      pm_req_op, pm_rsp_status;
  logic [PPageW-1:0] pm_rsp_page;
  logic [$clog2(NumPages + 1)-1:0] pm_free_pages;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [$clog2(PageSize)-1:0]      pm_rsp_slot;   // the slot is the position's low bits
  logic [$clog2(MaxSeqLen + 1)-1:0] pm_rsp_len;    // the sequencer keeps the length itself
  /* verilator lint_on UNUSEDSIGNAL */

  // ---------------------------------------------------------------- checks
  logic [3:0]  cmd_op, cmd_seq;
  logic        cmd_reserved;   // bits [23:16] set: BAD_CMD
  logic [15:0] cmd_n;
  assign cmd_op  = cmd_data_i[31:28];
  assign cmd_seq = cmd_data_i[27:24];
  assign cmd_n   = cmd_data_i[15:0];
  assign cmd_reserved = cmd_data_i[23:16] != 8'd0;

  logic [15:0] len, new_len;
  logic [16:0] pages_now, pages_after;
  logic [3:0]  check_status;
  assign len         = len_q[seq_q];
  assign new_len     = op_q == OpPrompt ? len + count_q : len + 16'd1;
  assign pages_now   = (17'(len) + 17'(PageSize - 1)) >> PageShift;
  assign pages_after = (17'(len) + (op_q == OpPrompt ? 17'(count_q) : 17'd1) + 17'(PageSize - 1)) >> PageShift;

  always_comb begin
    check_status = StOk;
    if (pipe_err_i != '0) begin
      check_status = StHwError;
    end else if (reserved_q) begin
      check_status = StBadCmd;
    end else if (op_q == OpLoad) begin
      if (!cfg_ok_i) check_status = StBadConfig;
    end else if (op_q == OpOpen || op_q == OpClose || op_q == OpStep || op_q == OpPrompt) begin
      if (op_q == OpPrompt && count_q == 16'd0)           check_status = StBadCmd;
      else if (32'(seq_id_q) >= 32'(MaxSeqs))             check_status = StBadSeq;
      else if (!cfg_ok_i || !loaded_q)                    check_status = StBadConfig;
      else if (op_q == OpOpen) begin
        if (open_q[seq_q]) check_status = StBadState;
      end else if (!open_q[seq_q])                        check_status = StBadState;
      else if (op_q == OpStep && !has_token_q[seq_q])     check_status = StBadState;
      else if (op_q != OpClose) begin
        if (17'(new_len) > 17'(cfg_seq_len_i) || 32'(new_len) > 32'(MaxSeqLen) ||
            (op_q == OpPrompt && 32'(len) + 32'(count_q) > 32'hFFFF))
                                                          check_status = StSeqFull;
        else if (pages_after - pages_now > 17'(pm_free_pages)) check_status = StNoPage;
      end
    end else begin
      check_status = StBadCmd;
    end
  end

  // ---------------------------------------------------------------- control
  assign cmd_ready_o = state_q == SIdle;

  logic tok_take;   // a prompt token leaves the token-in stream
  assign tok_take = (state_q == SDrain || state_q == SFill) && tok_in_valid_i && count_q != 16'd0 &&
                    (state_q == SDrain || fill_q != blk_n_q);
  assign tok_in_ready_o = tok_take;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q      <= SIdle;
      done_count_q <= '0;
      status_q     <= StOk;
      loaded_q     <= 1'b0;
      open_q       <= '0;
      has_token_q  <= '0;
    end else begin
      unique case (state_q)
        SIdle: if (cmd_valid_i) begin
          op_q     <= cmd_op;
          reserved_q <= cmd_reserved;
          seq_id_q <= cmd_seq;
          seq_q    <= SeqW'(cmd_seq);
          count_q  <= cmd_n;
          state_q  <= SCheck;
        end
        SCheck: begin
          status_q <= check_status;
          if (check_status != StOk) begin
            state_q <= op_q == OpPrompt ? SDrain : SFinish;
          end else begin
            unique case (op_q)
              OpLoad:   state_q <= SLoad;
              OpOpen:   state_q <= SPmReq;
              OpClose:  state_q <= SPmReq;
              OpPrompt: state_q <= SFill;
              default:  state_q <= SAppend;   // STEP: the token is known
            endcase
            blk_pos_q  <= len;
            fill_q     <= '0;
            blk_n_q    <= count_q > 16'(MaxBlock) ? (TokW + 1)'(MaxBlock) : (TokW + 1)'(count_q);
            blk_last_q <= op_q == OpStep || count_q <= 16'(MaxBlock);
            if (op_q == OpStep) begin
              blk_n_q      <= (TokW + 1)'(1);
              fill_token_q <= last_token_q[seq_q];
            end
          end
        end
        SDrain: begin
          if (tok_take) count_q <= count_q - 1'b1;
          if (count_q == 16'd0) state_q <= status_q == StBadToken ? SPmReq : SFinish;  // BAD_TOKEN: close
        end
        SLoad: if (pipe_done_i) begin
          loaded_q <= pipe_err_i == '0;
          if (pipe_err_i != '0) status_q <= StHwError;
          state_q <= SFinish;
        end
        SPmReq: if (pm_req_ready) state_q <= SPmRsp;
        SPmRsp: if (pm_rsp_valid) begin
          if (pm_rsp_status != 3'd0) begin
            status_q <= op_q == OpPrompt ? StHwError : StBadState;  // a PROMPT's close cannot fail
          end else if (op_q == OpOpen) begin
            open_q[seq_q]      <= 1'b1;
            has_token_q[seq_q] <= 1'b0;
            len_q[seq_q]       <= '0;
          end else begin
            open_q[seq_q] <= 1'b0;   // CLOSE, or a PROMPT with a bad token
          end
          state_q <= SFinish;
        end
        // PROMPT: take the block's tokens one by one, each appended to the
        // page table before the next.
        SFill: if (tok_take) begin
          fill_token_q <= tok_in_data_i;
          count_q      <= count_q - 1'b1;
          state_q      <= SAppend;
          // tp_host_csr refuses such ids already; never run one.
          if (16'(tok_in_data_i) >= cfg_vocab_i) begin
            status_q <= StBadToken;
            state_q  <= SDrain;
          end
        end
        SAppend: if (pm_req_ready) state_q <= SAppendRsp;
        SAppendRsp: if (pm_rsp_valid) begin
          fill_q  <= fill_q + 1'b1;
          if (pm_rsp_status != 3'd0) status_q <= StHwError;
          state_q <= 32'(fill_q) + 1 == 32'(blk_n_q) ? SRun : SFill;
        end
        SRun: state_q <= SWait;
        SWait: if (pipe_done_i) begin
          if (pipe_err_i != '0) status_q <= StHwError;
          len_q[seq_q] <= blk_pos_q + 16'(blk_n_q);
          if (!blk_last_q) begin
            blk_pos_q  <= blk_pos_q + 16'(blk_n_q);
            fill_q     <= '0;
            blk_n_q    <= count_q > 16'(MaxBlock) ? (TokW + 1)'(MaxBlock) : (TokW + 1)'(count_q);
            blk_last_q <= count_q <= 16'(MaxBlock);
            state_q    <= SFill;
          end else begin
            last_token_q[seq_q] <= pipe_token_i;
            has_token_q[seq_q]  <= 1'b1;
            state_q             <= SEmit;
          end
        end
        SEmit: if (tok_out_ready_i) state_q <= SFinish;
        SFinish: begin
          done_count_q <= done_count_q + 1'b1;
          state_q      <= SIdle;
        end
        default: state_q <= SIdle;
      endcase
      // A changed configuration needs a new LOAD (it also drops the weights
      // the pipeline prefetched for the next block).
      if (!cfg_ok_i || cfg_write_i) loaded_q <= 1'b0;
    end
  end

  // ---------------------------------------------------------------- outputs
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] fill_pos;   // only its page bits index the page table
  /* verilator lint_on UNUSEDSIGNAL */
  assign fill_pos = blk_pos_q + 16'(fill_q);

  assign pm_req_valid = state_q == SPmReq || state_q == SAppend;
  assign pm_req_op    = state_q == SAppend ? PmAppend : (op_q == OpOpen ? PmOpen : PmClose);

  assign load_o       = state_q == SLoad && !pipe_busy_i && !load_issued_q;
  assign start_o      = state_q == SRun;
  assign blk_tokens_o = blk_n_q;
  assign blk_pos_o    = blk_pos_q;
  assign blk_seq_o    = seq_q;
  assign blk_logits_o = blk_last_q;
  assign tok_we_o     = state_q == SAppendRsp && pm_rsp_valid;
  assign tok_addr_o   = fill_q[TokW-1:0];
  assign tok_data_o   = fill_token_q;
  assign page_we_o    = state_q == SAppendRsp && pm_rsp_valid && pm_rsp_status == 3'd0;
  assign page_addr_o  = {seq_q, fill_pos[PageShift +: LPageW]};
  assign page_data_o  = pm_rsp_page;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || state_q != SLoad) load_issued_q <= 1'b0;
    else if (load_o) load_issued_q <= 1'b1;
  end

  assign tok_out_valid_o = state_q == SEmit;
  assign tok_out_data_o  = {seq_id_q, len_q[seq_q][10:0], 1'b0, last_token_q[seq_q]};

  assign busy_o   = state_q != SIdle;
  assign status_o = {done_count_q, 12'd0, status_q};

  // ---------------------------------------------------------------- counters
  logic [31:0] prefill_cycles_q, prefill_tokens_q, decode_cycles_q, decode_tokens_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      prefill_cycles_q <= '0;
      prefill_tokens_q <= '0;
      decode_cycles_q  <= '0;
      decode_tokens_q  <= '0;
    end else begin
      // Whole commands: page-table appends and token transfers included.
      if (busy_o && op_q == OpPrompt && status_q == StOk) prefill_cycles_q <= prefill_cycles_q + 1'b1;
      if (busy_o && op_q == OpStep && status_q == StOk)   decode_cycles_q  <= decode_cycles_q + 1'b1;
      if (state_q == SWait && pipe_done_i) begin
        if (op_q == OpPrompt) prefill_tokens_q <= prefill_tokens_q + 32'(blk_n_q);
        else                  decode_tokens_q  <= decode_tokens_q + 1'b1;
      end
    end
  end
  assign perf_prefill_cycles_o = prefill_cycles_q;
  assign perf_prefill_tokens_o = prefill_tokens_q;
  assign perf_decode_cycles_o  = decode_cycles_q;
  assign perf_decode_tokens_o  = decode_tokens_q;

  /* verilator lint_off PINCONNECTEMPTY */
  tp_kv_page_manager #(
    .NumPages(NumPages), .MaxSeqs(MaxSeqs), .PageSize(PageSize), .MaxSeqLen(MaxSeqLen)
  ) u_pages (
    .clk_i, .rst_ni,
    .req_valid_i(pm_req_valid), .req_ready_o(pm_req_ready), .req_op_i(pm_req_op),
    .req_seq_i({{(8 - SeqW){1'b0}}, seq_q}), .req_prefix_i(8'd0), .req_pos_i(16'd0),
    .rsp_valid_o(pm_rsp_valid), .rsp_ready_i(1'b1), .rsp_status_o(pm_rsp_status),
    .rsp_page_o(pm_rsp_page), .rsp_slot_o(pm_rsp_slot), .rsp_len_o(pm_rsp_len),
    .free_pages_o(pm_free_pages), .used_pages_o(),
    .allocs_o(), .frees_o(), .refusals_o(), .exhaustions_o());
  /* verilator lint_on PINCONNECTEMPTY */

endmodule
