// tp_weight_port: AXI4 read master of the 512-bit weight stream (docs/weight-image.md).
//
// Takes read commands (a 64-byte aligned start byte address and a length in
// 64-byte beats), splits each into AXI4 INCR bursts of up to 64 beats that
// never cross a 4 KiB boundary, keeps up to MaxOutstanding bursts in flight,
// and delivers the read data in order as a beat stream with `last` on the
// command's final beat.
//
// Streams (valid/ready; a beat moves on an edge where valid && ready, and
// valid/data hold while valid && !ready):
//   cmd   cmd_addr_i (byte address, multiple of 64), cmd_beats_i (1 .. 2^LenWidth - 1
//         beats; default 1,048,575 = 64 MiB - 64). A one-entry command buffer
//         sits in front of the splitter: cmd_ready_o (from a flop) is high while
//         it is empty. A command taken while the splitter is free (idle, or
//         issuing the previous command's last burst) goes straight into the
//         splitter; otherwise it waits in the buffer and enters the splitter on
//         the edge the previous command's last burst is issued. So the bursts of
//         consecutive commands go out back to back: a stream of one-burst
//         commands issues one burst (and takes one command) per cycle.
//   AR    single ID, arsize 64 bytes, INCR; registered outputs.
//   R     rready is always high: a burst is only issued when the data FIFO has
//         room for all its beats (credits: FIFO entries + beats of bursts in
//         flight <= FifoBeats), so the memory never sees backpressure.
//         rresp is not used (the weight memory does not fail reads).
//   out   out_data_o = R data (512 bits, byte i of the beat at bits 8i+7:8i),
//         out_last_o on the command's last beat. out_valid_o and out_data_o
//         come from flops (the FIFO's read register); out_ready_i drives the
//         FIFO read enable combinationally (no path from out_ready_i to an output).
//         OutBeats 2: two lanes, beat 0 (bits [0], [511:0]) the next beat of
//         the stream and beat 1 ([1], [1023:512]) the one after it, so a
//         consumer takes 0, 1 or 2 beats per cycle. out_valid_o[1] implies
//         out_valid_o[0]. Beat 0 moves on valid[0] && ready[0]; beat 1 only
//         together with it (valid[0] && ready[0] && valid[1] && ready[1]);
//         what is not taken stays (beat 1 becomes beat 0 when only beat 0
//         moves). Beats keep the stream order whatever the commands: a pair
//         may hold a command's last beat and the next command's first, and a
//         beat whose successor has not arrived comes alone (valid = 01).
//         Beat 0 alone obeys the valid/ready rules of a one-beat stream.
//
// Latency (cycles between the edges at which things move, bench.h convention):
// a command accepted at edge k has its first burst accepted on AR at edge k+2
// at the earliest (arvalid from a flop set at edge k+1); an R beat taken at
// edge r can leave on out_* at edge r+2 (FIFO write at r, read register at
// r+1). So the first beat of a command leaves at edge k + 4 + memory latency.
// Throughput: one beat per cycle once the first beat is out, as long as the
// memory delivers a beat per cycle and the credits cover its round trip:
// min(MaxOutstanding * 64, FifoBeats) >= memory latency + ~4 cycles (default
// 512 beats: HBM latencies up to ~500 cycles; measured 1.0 beat/cycle at 200).
// OutBeats 2: beats the FIFO holds leave at up to two per cycle (the AXI side
// still takes one per cycle), so a consumer that fell behind, or that starts
// after the FIFO filled up, catches up with the memory at twice its rate. The
// latency is the same (edge r + 2).
// II of the command stream: the command's bursts (1 cycle for a one-burst
// command), when AR, credits and bursts in flight allow.
//
// Reset (synchronous, active low) clears the control state: every command,
// burst in flight and buffered beat is dropped. The memory (interconnect) must
// be reset with the port, as AXI4's shared ARESETn requires: R beats of bursts
// issued before the reset must not arrive afterwards.
//
// Resources (default parameters): the data FIFO is a 512 x 513-bit block RAM
// (15 RAMB18 at 512 x 36), ~300 flops of control, command buffer and counters,
// no DSP (rtl/matrix/tp_weight_port.synth.json). OutBeats 2 splits it into two
// banks of FifoBeats / 2 (even and odd beats), each with its own read port and
// read register (in the BRAM output latch): twice the block RAM width, 30
// RAMB18 (at 512 x 36 they are half full: FifoBeats 1024 would cost no more),
// 19 more flops, and the 2:1 select of 1026 bits that puts the beats in
// stream order (Yosys: 1,257 LUT, 318 FF, 30 RAMB18E2 in all).
module tp_weight_port #(
  parameter int unsigned AddrWidth      = 34,   // byte address bits (>= 13); HBM: 33-34
  parameter int unsigned LenWidth       = 20,   // command length bits (7..32): up to 2^LenWidth - 1 beats
  parameter int unsigned MaxOutstanding = 8,    // bursts in flight (issued, last beat not yet received), >= 1
  parameter int unsigned FifoBeats      = 512,  // data FIFO depth in beats, power of two, >= 64
  parameter int unsigned OutBeats       = 1,    // beats the consumer may take per cycle: 1 or 2
  parameter int unsigned CounterWidth   = 32    // width of the performance counters (wrap around)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,          // synchronous reset, active low
  // Command stream.
  input  logic                    cmd_valid_i,
  output logic                    cmd_ready_o,
  input  logic [AddrWidth-1:0]    cmd_addr_i,      // byte address, multiple of 64
  input  logic [LenWidth-1:0]     cmd_beats_i,     // length in 64-byte beats, >= 1
  // AXI4 read address channel (master side).
  output logic                    m_axi_arvalid_o,
  input  logic                    m_axi_arready_i,
  output logic [AddrWidth-1:0]    m_axi_araddr_o,
  output logic [7:0]              m_axi_arlen_o,   // beats - 1, <= 63
  output logic [2:0]              m_axi_arsize_o,  // 6: 64 bytes per beat
  output logic [1:0]              m_axi_arburst_o, // 1: INCR
  // AXI4 read data channel.
  input  logic                    m_axi_rvalid_i,
  output logic                    m_axi_rready_o,  // always high (credits)
  input  logic [511:0]            m_axi_rdata_i,
  input  logic                    m_axi_rlast_i,
  // Output beat stream: OutBeats lanes (beat i at [i], [i*512 +: 512]).
  output logic [OutBeats-1:0]     out_valid_o,
  input  logic [OutBeats-1:0]     out_ready_i,
  output logic [OutBeats*512-1:0] out_data_o,
  output logic [OutBeats-1:0]     out_last_o,      // last beat of a command
  // Performance counters (cleared by reset, wrap around).
  output logic [CounterWidth-1:0] perf_busy_o,      // cycles with a command not yet fully delivered
  output logic [CounterWidth-1:0] perf_out_stall_o, // cycles out_valid_o && !out_ready_i
  output logic [CounterWidth-1:0] perf_mem_wait_o   // busy cycles without an output beat (waiting on memory)
);

  localparam int unsigned PtrWidth = $clog2(FifoBeats);
  localparam int unsigned CredWidth = PtrWidth + 2;  // holds FifoBeats + 64
  localparam int unsigned OutsWidth = $clog2(MaxOutstanding + 1);
  localparam int unsigned TagWidth = (MaxOutstanding > 1) ? $clog2(MaxOutstanding) : 1;

  // ------------------------------------------------------ parameter check ---
  if (AddrWidth < 13 || AddrWidth > 64) begin : gen_addr_check
    $error("tp_weight_port: AddrWidth must be in [13, 64]");
  end
  if (LenWidth < 7 || LenWidth > 32) begin : gen_len_check
    $error("tp_weight_port: LenWidth must be in [7, 32]");
  end
  if (MaxOutstanding < 1) begin : gen_outstanding_check
    $error("tp_weight_port: MaxOutstanding must be >= 1");
  end
  if (FifoBeats < 64 || (FifoBeats & (FifoBeats - 1)) != 0) begin : gen_fifo_check
    $error("tp_weight_port: FifoBeats must be a power of two >= 64");
  end
  if (OutBeats < 1 || OutBeats > 2) begin : gen_out_beats_check
    $error("tp_weight_port: OutBeats must be 1 or 2");
  end

  // ------------------------------------------------------ command splitter ---
  logic                 active_q;            // a command has bursts left to issue
  logic [AddrWidth-1:0] addr_q;              // byte address of the next burst
  logic [LenWidth-1:0]  rem_q;               // beats left to issue
  logic                 cmd_fire;
  logic                 next_valid_q;        // the command buffer holds a command
  logic [AddrWidth-1:0] next_addr_q;
  logic [LenWidth-1:0]  next_beats_q;
  logic                 split_free;          // the splitter can take a command this cycle
  logic                 take_cmd, take_next, park;
  logic [6:0]           to_boundary;         // beats to the next 4 KiB boundary, 1..64
  logic [6:0]           burst_beats;         // beats of the next burst, 1..64
  logic                 burst_is_last;       // the next burst ends the command
  logic                 ar_free;             // the AR register can take a burst
  logic                 credit_ok, outs_ok;
  logic                 load;                // a burst is issued into the AR register
  logic [CredWidth-1:0] credit_q, credit_d;  // FIFO entries + beats of issued bursts
  logic [OutsWidth-1:0] outs_q, outs_d;      // bursts issued, last beat not yet received
  logic                 ar_valid_q;
  logic [AddrWidth-1:0] ar_addr_q;
  logic [7:0]           ar_len_q;

  assign cmd_ready_o = ~next_valid_q;
  assign cmd_fire    = cmd_valid_i & cmd_ready_o;
  // The splitter is free when idle or when it issues its command's last burst.
  // A buffered command goes first; a new one goes straight in when the buffer
  // is empty (cmd_fire implies it is), else it waits in the buffer.
  assign split_free  = ~active_q | (load & burst_is_last);
  assign take_next   = split_free & next_valid_q;
  assign take_cmd    = split_free & cmd_fire;
  assign park        = cmd_fire & ~split_free;

  assign to_boundary   = 7'd64 - {1'b0, addr_q[11:6]};
  assign burst_is_last = rem_q <= LenWidth'(to_boundary);
  assign burst_beats   = burst_is_last ? rem_q[6:0] : to_boundary;
  assign ar_free       = ~ar_valid_q | m_axi_arready_i;
  assign credit_ok     = credit_q + CredWidth'(burst_beats) <= CredWidth'(FifoBeats);
  assign outs_ok       = outs_q < OutsWidth'(MaxOutstanding);
  assign load          = active_q & ar_free & credit_ok & outs_ok;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      active_q     <= 1'b0;
      next_valid_q <= 1'b0;
      ar_valid_q   <= 1'b0;
    end else begin
      if (take_cmd || take_next) begin
        active_q <= 1'b1;
      end else if (load && burst_is_last) begin
        active_q <= 1'b0;
      end
      if (park) begin
        next_valid_q <= 1'b1;
      end else if (take_next) begin
        next_valid_q <= 1'b0;
      end
      if (ar_free) begin
        ar_valid_q <= load;
      end
    end
  end

  // Address and length registers: no reset (only meaningful while active /
  // while the buffer is valid).
  always_ff @(posedge clk_i) begin
    if (park) begin
      next_addr_q  <= cmd_addr_i;
      next_beats_q <= cmd_beats_i;
    end
    if (take_next) begin
      addr_q <= next_addr_q;
      rem_q  <= next_beats_q;
    end else if (take_cmd) begin
      addr_q <= cmd_addr_i;
      rem_q  <= cmd_beats_i;
    end else if (load) begin
      addr_q <= addr_q + AddrWidth'({burst_beats, 6'b0});
      rem_q  <= rem_q - LenWidth'(burst_beats);
    end
    if (load) begin
      ar_addr_q <= addr_q;
      ar_len_q  <= {1'b0, burst_beats} - 8'd1;
    end
  end

  assign m_axi_arvalid_o = ar_valid_q;
  assign m_axi_araddr_o  = ar_addr_q;
  assign m_axi_arlen_o   = ar_len_q;
  assign m_axi_arsize_o  = 3'd6;
  assign m_axi_arburst_o = 2'b01;

  // ------------------------------------------- last-burst tags, in order ---
  // One bit per burst in flight: does it end its command. Written at issue,
  // read by the R beats, freed at rlast.
  logic [MaxOutstanding-1:0] tag_q;
  logic [TagWidth-1:0]       tag_wr_q, tag_rd_q;
  logic                      r_fire, r_end;

  assign m_axi_rready_o = 1'b1;
  assign r_fire         = m_axi_rvalid_i;  // rready is always high
  assign r_end          = r_fire & m_axi_rlast_i;

  always_ff @(posedge clk_i) begin
    if (load) begin
      tag_q[tag_wr_q] <= burst_is_last;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tag_wr_q <= '0;
      tag_rd_q <= '0;
      outs_q   <= '0;
      credit_q <= '0;
    end else begin
      if (load) begin
        tag_wr_q <= (tag_wr_q == TagWidth'(MaxOutstanding - 1)) ? '0 : tag_wr_q + 1'b1;
      end
      if (r_end) begin
        tag_rd_q <= (tag_rd_q == TagWidth'(MaxOutstanding - 1)) ? '0 : tag_rd_q + 1'b1;
      end
      outs_q   <= outs_d;
      credit_q <= credit_d;
    end
  end

  // ------------------------------------------------------------ data FIFO ---
  // OutBeats banks of FifoBeats / OutBeats beats in block RAM; the R beats go
  // to the banks in turn (at OutBeats 2 bank 0 holds the even beats of the
  // stream). Each bank has its own read port, whose register (the BRAM output
  // latch) holds the bank's oldest beat, so OutBeats consecutive beats can
  // leave in one cycle.
  localparam int unsigned BankBeats = FifoBeats / OutBeats;
  localparam int unsigned BankPtrW  = $clog2(BankBeats);
  logic [OutBeats-1:0]     bank_wr;     // the R beat goes into bank b
  logic [OutBeats-1:0]     bank_rd;     // bank b's oldest beat moves into its read register
  logic [OutBeats-1:0]     bank_pop;    // the beat in bank b's read register leaves
  logic [OutBeats-1:0]     bank_valid;  // bank b's read register holds a beat
  logic [OutBeats-1:0]     bank_busy;   // bank b holds a beat (memory or register)
  logic [OutBeats*513-1:0] bank_data;   // bank b's read register at [b*513 +: 513]
  logic [512:0]            r_word;      // {ends its command, data}

  assign r_word = {m_axi_rlast_i & tag_q[tag_rd_q], m_axi_rdata_i};

  for (genvar b = 0; b < OutBeats; b++) begin : gen_bank
    (* ram_style = "block" *) logic [512:0] mem [BankBeats];
    logic [BankPtrW:0] wr_ptr_q, rd_ptr_q;  // one wrap bit
    logic              empty, valid_q;
    logic [512:0]      data_q;

    assign empty                   = wr_ptr_q == rd_ptr_q;
    assign bank_rd[b]              = ~empty & (~valid_q | bank_pop[b]);
    assign bank_valid[b]           = valid_q;
    assign bank_busy[b]            = ~empty | valid_q;
    assign bank_data[b*513 +: 513] = data_q;

    always_ff @(posedge clk_i) begin
      if (bank_wr[b]) begin
        mem[wr_ptr_q[BankPtrW-1:0]] <= r_word;
      end
      if (bank_rd[b]) begin
        data_q <= mem[rd_ptr_q[BankPtrW-1:0]];
      end
    end

    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        wr_ptr_q <= '0;
        rd_ptr_q <= '0;
        valid_q  <= 1'b0;
      end else begin
        if (bank_wr[b]) begin
          wr_ptr_q <= wr_ptr_q + 1'b1;
        end
        if (bank_rd[b]) begin
          rd_ptr_q <= rd_ptr_q + 1'b1;
        end
        if (~valid_q | bank_pop[b]) begin
          valid_q <= bank_rd[b];
        end
      end
    end

`ifndef SYNTHESIS
    always_ff @(posedge clk_i) begin
      if (rst_ni && bank_wr[b]) begin
        assert ((wr_ptr_q ^ rd_ptr_q) != {1'b1, {BankPtrW{1'b0}}})
          else $error("tp_weight_port: R beat into a full FIFO bank %0d (credit error)", b);
      end
    end
`endif
  end

  if (OutBeats == 1) begin : gen_one_beat
    assign bank_wr     = r_fire;
    assign bank_pop    = out_ready_i;
    assign out_valid_o = bank_valid;
    assign out_data_o  = bank_data[511:0];
    assign out_last_o  = bank_data[512];
  end else begin : gen_two_beats
    // head_q names the bank whose register holds the stream's next beat (when
    // valid); the other bank's register holds the beat after it. Both
    // registers refill on the edge their beat leaves, so two beats per cycle
    // is sustained.
    logic         wr_odd_q, head_q;
    logic [512:0] head_beat, next_beat;
    logic         head_valid, next_valid, take0, take1;

    assign bank_wr    = {r_fire & wr_odd_q, r_fire & ~wr_odd_q};
    assign head_valid = bank_valid[head_q];
    assign next_valid = bank_valid[~head_q];
    assign head_beat  = head_q ? bank_data[513 +: 513] : bank_data[0 +: 513];
    assign next_beat  = head_q ? bank_data[0 +: 513] : bank_data[513 +: 513];
    assign take0      = head_valid & out_ready_i[0];
    assign take1      = take0 & next_valid & out_ready_i[1];
    assign bank_pop   = head_q ? {take0, take1} : {take1, take0};

    assign out_valid_o = {head_valid & next_valid, head_valid};
    assign out_data_o  = {next_beat[511:0], head_beat[511:0]};
    assign out_last_o  = {next_beat[512], head_beat[512]};

    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        wr_odd_q <= 1'b0;
        head_q   <= 1'b0;
      end else begin
        wr_odd_q <= wr_odd_q ^ r_fire;
        head_q   <= head_q ^ (take0 & ~take1);
      end
    end

`ifndef SYNTHESIS
    always_ff @(posedge clk_i) begin
      if (rst_ni) begin
        // The register of the beat after the head never fills before the head's.
        assert (!(next_valid && !head_valid))
          else $error("tp_weight_port: second beat valid without the first");
      end
    end
`endif
  end

  // Credits: reserved at issue, returned when a beat leaves a bank's memory.
  always_comb begin
    credit_d = credit_q;
    if (load) credit_d = credit_d + CredWidth'(burst_beats);
    for (int b = 0; b < OutBeats; b++) begin
      if (bank_rd[b]) credit_d = credit_d - 1'b1;
    end
    outs_d = outs_q;
    if (load) outs_d = outs_d + 1'b1;
    if (r_end) outs_d = outs_d - 1'b1;
  end

  // -------------------------------------------------- performance counters ---
  logic                    busy;
  logic [CounterWidth-1:0] busy_q, out_stall_q, mem_wait_q;

  assign busy = active_q | next_valid_q | ar_valid_q | (outs_q != '0) | (|bank_busy);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q      <= '0;
      out_stall_q <= '0;
      mem_wait_q  <= '0;
    end else begin
      if (busy) busy_q <= busy_q + 1'b1;
      if (out_valid_o[0] && !out_ready_i[0]) out_stall_q <= out_stall_q + 1'b1;
      if (busy && !out_valid_o[0]) mem_wait_q <= mem_wait_q + 1'b1;
    end
  end

  assign perf_busy_o      = busy_q;
  assign perf_out_stall_o = out_stall_q;
  assign perf_mem_wait_o  = mem_wait_q;

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(AddrWidth + LenWidth), .Name("tp_weight_port cmd")) u_cmd_check (
    .clk_i, .rst_ni, .valid_i(cmd_valid_i), .ready_i(cmd_ready_o), .data_i({cmd_addr_i, cmd_beats_i})
  );
  tp_stream_checker #(.Width(AddrWidth + 8), .Name("tp_weight_port ar")) u_ar_check (
    .clk_i, .rst_ni, .valid_i(m_axi_arvalid_o), .ready_i(m_axi_arready_i),
    .data_i({m_axi_araddr_o, m_axi_arlen_o})
  );
  // Beat 0 is a valid/ready stream of its own (beat 1 moves up into it).
  tp_stream_checker #(.Width(513), .Name("tp_weight_port out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o[0]), .ready_i(out_ready_i[0]),
    .data_i({out_last_o[0], out_data_o[511:0]})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (cmd_fire) begin
        assert (cmd_addr_i[5:0] == 6'd0)
          else $error("tp_weight_port: command address %0h not 64-byte aligned", cmd_addr_i);
        assert (cmd_beats_i != '0)
          else $error("tp_weight_port: command of 0 beats");
      end
      if (m_axi_rvalid_i) begin
        assert (outs_q != '0)
          else $error("tp_weight_port: R beat without a burst in flight");
      end
      assert (credit_q <= CredWidth'(FifoBeats))
        else $error("tp_weight_port: credits %0d exceed FifoBeats", credit_q);
    end
  end
`endif

endmodule
