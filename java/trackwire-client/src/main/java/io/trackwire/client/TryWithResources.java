package io.trackwire.client;

import java.io.IOException;
import java.io.InputStream;
import java.lang.StackWalker.Option;
import java.lang.StackWalker.StackFrame;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.LabelNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;
import org.objectweb.asm.tree.TryCatchBlockNode;
import org.objectweb.asm.tree.VarInsnNode;

/**
 * Tells a resource's {@code close()} whether a try-with-resources block is closing it because an
 * exception escaped the block.
 *
 * <p>{@code close()} takes no argument, so Java gives it no sight of that exception. The code
 * calling it does know, though: javac compiles {@code try (R r = ...) { body }} to
 *
 * <pre>{@code
 * body; r.close();                      // normal path
 * ...
 * catch (Throwable t) {                 // exceptional path
 *   try { r.close(); } catch (Throwable t2) { t.addSuppressed(t2); }
 *   throw t;
 * }
 * }</pre>
 *
 * <p>so the exceptional {@code r.close()} is the only one inside an exception-table range whose
 * handler starts {@code astore t2; aload t; aload t2; invokevirtual Throwable.addSuppressed}
 * (true with or without catch/finally clauses, nested or several resources; checked against
 * JDK 17's javac). This class finds the frame that called {@code close()} with a
 * {@link StackWalker}, reads its method's bytecode with ASM, and answers whether the call's
 * bytecode index lies in such a range. Other compilers (ecj, kotlinc), a {@code close()} called
 * from a wrapper resource's {@code close()}, or class bytes that cannot be read all answer
 * {@code false}: the caller's normal-path behaviour.
 */
final class TryWithResources {
  /**
   * Decisions per call site: (caller's class) → "method descriptor@bci" → exceptional or not.
   * A ClassValue, so that cached call sites do not keep their classes (and loaders) alive.
   */
  private static final ClassValue<Map<String, Boolean>> CALL_SITES = new ClassValue<>() {
    @Override
    protected Map<String, Boolean> computeValue(Class<?> type) {
      return new ConcurrentHashMap<>();
    }
  };

  private TryWithResources() {}

  /**
   * Whether the code that called {@code resource}'s {@code close()} (the first frame outside
   * {@code resource} and this class) calls it on a try-with-resources block's exceptional path.
   * Never throws: anything that prevents knowing answers {@code false}.
   */
  static boolean closingOnException(Class<?> resource) {
    try {
      Optional<StackFrame> caller = StackWalker.getInstance(Option.RETAIN_CLASS_REFERENCE)
          .walk(frames -> frames
              .dropWhile(f -> f.getDeclaringClass() == TryWithResources.class
                  || f.getDeclaringClass() == resource)
              .findFirst());
      if (caller.isEmpty()) {
        return false;
      }
      StackFrame frame = caller.get();
      String site = frame.getMethodName() + frame.getDescriptor() + "@" + frame.getByteCodeIndex();
      return CALL_SITES.get(frame.getDeclaringClass())
          .computeIfAbsent(site, s -> isExceptionalClose(frame));
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Whether the frame's bytecode index is a close() in a range handled by addSuppressed. */
  private static boolean isExceptionalClose(StackFrame frame) {
    MethodNode method;
    try {
      method = readMethod(frame.getDeclaringClass(), frame.getMethodName(), frame.getDescriptor());
    } catch (IOException | RuntimeException e) {
      return false; // cached like any answer: the call site is not read again
    }
    if (method == null) {
      return false;
    }
    int bci = frame.getByteCodeIndex();
    for (TryCatchBlockNode block : method.tryCatchBlocks) {
      if (offset(block.start) <= bci && bci < offset(block.end)
          && addsSuppressed(block.handler) && callsClose(block.start, block.end)) {
        return true;
      }
    }
    return false;
  }

  /** The method's code as a tree, or null when the class's bytes are not available. */
  private static MethodNode readMethod(Class<?> type, String name, String descriptor)
      throws IOException {
    String className = type.getName();
    byte[] bytes;
    // Relative to the class's package; Class rather than ClassLoader so that classes of the
    // bootstrap loader and of named modules are found too. Hidden classes have no resource.
    try (InputStream in =
        type.getResourceAsStream(className.substring(className.lastIndexOf('.') + 1) + ".class")) {
      if (in == null) {
        return null;
      }
      bytes = in.readAllBytes();
    }
    MethodNode[] found = new MethodNode[1];
    new OffsetReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
      @Override
      public MethodVisitor visitMethod(
          int access, String n, String d, String signature, String[] exceptions) {
        if (!n.equals(name) || !d.equals(descriptor)) {
          return null;
        }
        found[0] = new OffsetMethodNode(access, n, d, signature, exceptions);
        return found[0];
      }
    }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
    return found[0];
  }

  /** Whether the handler starts {@code astore t2; aload t; aload t2; t.addSuppressed(t2)}. */
  private static boolean addsSuppressed(AbstractInsnNode handler) {
    AbstractInsnNode store = next(handler);
    AbstractInsnNode primary = next(store);
    AbstractInsnNode suppressed = next(primary);
    AbstractInsnNode call = next(suppressed);
    return store != null && store.getOpcode() == Opcodes.ASTORE
        && primary != null && primary.getOpcode() == Opcodes.ALOAD
        && suppressed != null && suppressed.getOpcode() == Opcodes.ALOAD
        && ((VarInsnNode) suppressed).var == ((VarInsnNode) store).var
        && call instanceof MethodInsnNode m && call.getOpcode() == Opcodes.INVOKEVIRTUAL
        && m.owner.equals("java/lang/Throwable") && m.name.equals("addSuppressed")
        && m.desc.equals("(Ljava/lang/Throwable;)V");
  }

  /**
   * Whether [start, end) calls a {@code close()}: a guard against bytes that are not the ones
   * running (e.g. rewritten by an agent), whose bytecode indexes would not match.
   */
  private static boolean callsClose(AbstractInsnNode start, AbstractInsnNode end) {
    for (AbstractInsnNode insn = start; insn != null && insn != end; insn = insn.getNext()) {
      if (insn instanceof MethodInsnNode m && m.name.equals("close") && m.desc.equals("()V")) {
        return true;
      }
    }
    return false;
  }

  /** The next real instruction after {@code insn} (skipping labels), or null. */
  private static AbstractInsnNode next(AbstractInsnNode insn) {
    AbstractInsnNode next = insn == null ? null : insn.getNext();
    while (next != null && next.getOpcode() < 0) {
      next = next.getNext();
    }
    return next;
  }

  private static int offset(LabelNode label) {
    return ((OffsetLabel) label.getLabel()).offset;
  }

  /** A label that remembers its bytecode offset (ASM resolves offsets only when writing). */
  private static final class OffsetLabel extends Label {
    final int offset;

    OffsetLabel(int offset) {
      this.offset = offset;
    }
  }

  /** Keeps the reader's labels (MethodNode would make its own, without offsets). */
  private static final class OffsetMethodNode extends MethodNode {
    OffsetMethodNode(
        int access, String name, String descriptor, String signature, String[] exceptions) {
      super(Opcodes.ASM9, access, name, descriptor, signature, exceptions);
    }

    @Override
    protected LabelNode getLabelNode(Label label) {
      if (!(label.info instanceof LabelNode)) {
        label.info = new LabelNode(label);
      }
      return (LabelNode) label.info;
    }
  }

  /** Creates every label as an {@link OffsetLabel}, as ClassReader's contract allows. */
  private static final class OffsetReader extends ClassReader {
    OffsetReader(byte[] bytes) {
      super(bytes);
    }

    @Override
    protected Label readLabel(int bytecodeOffset, Label[] labels) {
      if (labels[bytecodeOffset] == null) {
        labels[bytecodeOffset] = new OffsetLabel(bytecodeOffset);
      }
      return labels[bytecodeOffset];
    }
  }
}
