// SPDX-License-Identifier: Apache-2.0
// Direct ByteBuffers (native memory, malloc'd by the JVM): "leak" keeps every buffer, "bounded"
// keeps the last 256 (16 MiB) and lets the rest be collected (a GC every 64 buffers runs
// their cleaners).
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

public class DirectLeak {
  public static void main(String[] args) throws Exception {
    boolean leak = args.length > 0 && args[0].equals("leak");
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 12;
    ArrayDeque<ByteBuffer> kept = new ArrayDeque<>();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    int n = 0;
    while (System.nanoTime() < end) {
      ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
      for (int i = 0; i < b.capacity(); i += 4096) b.put(i, (byte) 1);  // touch the pages
      kept.addLast(b);
      if (!leak && kept.size() > 256) kept.removeFirst();
      if (!leak && ++n % 64 == 0) System.gc();  // direct buffers are freed by their cleaners
      Thread.sleep(10);
    }
    System.out.println((leak ? "leaked " : "kept ") + kept.size() + " direct buffers");
  }
}
