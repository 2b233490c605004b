package io.trackwire.scala

import scala.jdk.CollectionConverters._
import io.trackwire.{v1 => pb}

/** One registered version of a model (from a source such as `runs:/<run_id>/model`); its
  * status is READY once registered. */
final case class ModelVersion(
    name: String,
    version: String,
    currentStage: String,
    status: String,
    source: String,
    runId: Option[String],
    description: String,
    creationTimestamp: Long,
    tags: Map[String, String],
    aliases: Seq[String])

object ModelVersion {
  private[scala] def fromProto(v: pb.ModelVersion): ModelVersion =
    ModelVersion(v.getName, v.getVersion, v.getCurrentStage,
      v.getStatus.name.stripPrefix("MODEL_VERSION_STATUS_"), v.getSource,
      Option(v.getRunId).filter(_.nonEmpty), v.getDescription, v.getCreationTimestamp,
      v.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap,
      v.getAliasesList.asScala.toSeq)
}

/** A registered model, with its latest version in each stage and its aliases. */
final case class RegisteredModel(
    name: String,
    description: String,
    creationTimestamp: Long,
    lastUpdatedTimestamp: Long,
    latestVersions: Seq[ModelVersion],
    tags: Map[String, String],
    aliases: Map[String, String])

object RegisteredModel {
  private[scala] def fromProto(m: pb.RegisteredModel): RegisteredModel =
    RegisteredModel(m.getName, m.getDescription, m.getCreationTimestamp, m.getLastUpdatedTimestamp,
      m.getLatestVersionsList.asScala.map(ModelVersion.fromProto).toSeq,
      m.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap,
      m.getAliasesList.asScala.map(a => a.getAlias -> a.getVersion).toMap)
}
