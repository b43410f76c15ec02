// tp_stream_register: valid/ready pipeline register with a 2-entry skid buffer.
//
// A full-throughput register slice that cuts every combinational path between
// its two sides, ready included:
//   latency              1 cycle: a beat accepted at clock edge k is on
//                        out_* from edge k on and can leave at edge k+1;
//   initiation interval  1 beat per cycle while the sink is ready;
//   in_ready_o           driven by a flop (= skid buffer empty), so it never
//                        depends combinationally on out_ready_i;
//   storage              2 beats: the output register plus the skid register
//                        that catches the beat in flight when the sink stalls.
// Valid/ready rules (AXI4-Stream, PULP common_cells): a beat moves on an edge
// where valid && ready; once valid is high, valid and data hold until it moves.
// Synchronous active-low reset on the two valid flops only; the data registers
// have no reset (synthesis maps them to plain clock-enabled flops).
module tp_stream_register #(
  parameter int unsigned Width = 32  // data bits per beat (>= 1)
) (
  input  logic             clk_i,
  input  logic             rst_ni,       // synchronous reset, active low
  // Input stream (sink side of this slice).
  input  logic             in_valid_i,
  output logic             in_ready_o,   // registered; high after reset
  input  logic [Width-1:0] in_data_i,
  // Output stream, 1 cycle after the input (source side of this slice).
  output logic             out_valid_o,  // registered; low after reset
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o    // registered; undefined while !out_valid_o
);

  // ------------------------------------------------------ parameter check ---
  if (Width == 0) begin : gen_width_check
    $error("tp_stream_register: Width must be >= 1");
  end

  // ------------------------------------------------------------- control ---
  logic             out_valid_d, out_valid_q;    // output register holds a beat
  logic             skid_valid_d, skid_valid_q;  // skid register holds a beat
  logic [Width-1:0] out_data_q, skid_data_q;
  logic             in_fire;                     // input beat moves at this edge
  logic             out_load;                    // output register takes a new value

  assign in_fire  = in_valid_i & in_ready_o;
  // The output register is free when it is empty or its beat leaves now.
  assign out_load = ~out_valid_q | out_ready_i;

  always_comb begin
    out_valid_d  = out_valid_q;
    skid_valid_d = skid_valid_q;
    if (out_load) begin
      // Refill from the skid register first (in_ready_o is low then), else
      // from the input.
      out_valid_d  = skid_valid_q | in_fire;
      skid_valid_d = 1'b0;
    end else if (in_fire) begin
      // Sink stalled: park the beat in flight in the skid register.
      skid_valid_d = 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
    end else begin
      out_valid_q  <= out_valid_d;
      skid_valid_q <= skid_valid_d;
    end
  end

  // ------------------------------------------------ datapath (no reset) ---
  // The skid register samples whenever it is empty; its content only counts
  // once skid_valid_q is set. The output register loads on every free cycle.
  always_ff @(posedge clk_i) begin
    if (in_ready_o) begin
      skid_data_q <= in_data_i;
    end
    if (out_load) begin
      out_data_q <= skid_valid_q ? skid_data_q : in_data_i;
    end
  end

  assign in_ready_o  = ~skid_valid_q;
  assign out_valid_o = out_valid_q;
  assign out_data_o  = out_data_q;

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both
  // ports, and the skid register only ever holding the second beat.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Width), .Name("tp_stream_register in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i(in_data_i)
  );
  tp_stream_checker #(.Width(Width), .Name("tp_stream_register out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i(out_data_o)
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      assert (!skid_valid_q || out_valid_q)
        else $error("tp_stream_register: skid register full while output register empty");
    end
  end
`endif

endmodule
