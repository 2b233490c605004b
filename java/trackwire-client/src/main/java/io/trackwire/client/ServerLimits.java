package io.trackwire.client;

import com.google.protobuf.DescriptorProtos.EnumValueOptions;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import io.trackwire.v1.Limit;
import io.trackwire.v1.LimitsProto;

/**
 * The limits every trackwire server enforces, read from the {@code limit_value} options in
 * proto/trackwire/v1/limits.proto so that they are written in one place only.
 */
public final class ServerLimits {
  public static final int MAX_METRICS_PER_BATCH = read(Limit.LIMIT_MAX_METRICS_PER_BATCH);
  public static final int MAX_PARAMS_PER_BATCH = read(Limit.LIMIT_MAX_PARAMS_PER_BATCH);
  public static final int MAX_TAGS_PER_BATCH = read(Limit.LIMIT_MAX_TAGS_PER_BATCH);
  public static final int MAX_ENTRIES_PER_BATCH = read(Limit.LIMIT_MAX_ENTRIES_PER_BATCH);
  public static final int MAX_KEY_LENGTH = read(Limit.LIMIT_MAX_KEY_LENGTH);
  public static final int MAX_PARAM_VALUE_LENGTH = read(Limit.LIMIT_MAX_PARAM_VALUE_LENGTH);
  public static final int MAX_TAG_VALUE_LENGTH = read(Limit.LIMIT_MAX_TAG_VALUE_LENGTH);
  public static final int ARTIFACT_CHUNK_SIZE = read(Limit.LIMIT_ARTIFACT_CHUNK_SIZE);
  public static final int MAX_REQUEST_BYTES = read(Limit.LIMIT_MAX_REQUEST_BYTES);

  private ServerLimits() {}

  /** The value of one limit. */
  public static int read(Limit limit) {
    // Options are parsed before the extension is known to the runtime; re-parse them with it.
    ExtensionRegistry registry = ExtensionRegistry.newInstance();
    registry.add(LimitsProto.limitValue);
    EnumValueOptions raw = limit.getValueDescriptor().getOptions();
    try {
      EnumValueOptions options = EnumValueOptions.parseFrom(raw.toByteString(), registry);
      if (!options.hasExtension(LimitsProto.limitValue)) {
        throw new IllegalStateException(limit + " has no limit_value option");
      }
      return Math.toIntExact(options.getExtension(LimitsProto.limitValue));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unreadable options of " + limit, e);
    }
  }
}
