// SPDX-License-Identifier: Apache-2.0
// Direct ByteBuffers (native memory, malloc'd by the JVM): "leak" keeps every buffer, "bounded"
// keeps the last 256 (16 MiB) and lets the rest be collected (a GC every 64 buffers runs
// their cleaners). "bounded" fills its 256 buffers at once, as a cache warmed at start does, then
// churns at the leak's pace. Under load the fill stretches: "bounded" runs on until it has held
// its bound at least as long as it took to reach it, so the plateau the test asserts is always
// there. (A cache that warms for longer than watch's 3 s settling time is shown as a leak on
// the live line until its plateau is seen: nothing before the plateau tells the two apart.)
import java.lang.management.ManagementFactory;
import java.lang.management.RuntimeMXBean;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

public class DirectLeak {
  public static void main(String[] args) throws Exception {
    boolean leak = args.length > 0 && args[0].equals("leak");
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 12;
    ArrayDeque<ByteBuffer> kept = new ArrayDeque<>();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    // The JVM's own uptime (ms) when "bounded" first held 256 buffers, -1 until then: the JVM's
    // start and the source launcher's compile are part of the watched window too.
    RuntimeMXBean jvm = ManagementFactory.getRuntimeMXBean();
    long full = -1;
    int n = 0;
    while (System.nanoTime() < end || (!leak && (full < 0 || jvm.getUptime() < 2 * full))) {
      ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
      for (int i = 0; i < b.capacity(); i += 4096) b.put(i, (byte) 1);  // touch the pages
      kept.addLast(b);
      if (!leak && kept.size() > 256) {
        kept.removeFirst();
        if (full < 0) full = jvm.getUptime();
      }
      if (!leak && ++n % 64 == 0) System.gc();  // direct buffers are freed by their cleaners
      if (leak || full >= 0) Thread.sleep(10);
    }
    System.out.println((leak ? "leaked " : "kept ") + kept.size() + " direct buffers");
  }
}
