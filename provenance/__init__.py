"""assay.provenance: C2PA manifests, visible and invisible AI labels, consent, compliance, verification.

The names below are this subsystem's public face: everything outside it (the shell, the dashboard, the other
subsystems, benchmarks) imports only these, from ``assay.provenance``. Each is loaded from its module when first used.
"""

from assay.core.exports import public_face

#: public name -> the module of this package that defines it
EXPORTS = {
    "make_birth_stamper": "birth",
    "publish": "birth",
    "app": "cli",
    "comply": "compliance",
    "get_profiles": "compliance",
    "profiles": "compliance",
    "Ledger": "consent",
    "utc": "consent",
    "stamp_pixels": "imagestamp",
    "check_fields": "implicit",
    "parse_xmp": "implicit",
    "read_xmp": "implicit",
    "ensure_keys": "keys",
    "keygen": "keys",
    "SigningIdentity": "keys",
    "workspace_trust_anchors": "keys",
    "MIME": "manifest",
    "read_manifest": "manifest",
    "encode_payload": "payload",
    "random_content_id": "payload",
    "sample_content_id": "payload",
    "dataset_subjects": "policy",
    "load_policy": "policy",
    "mark_done": "policy",
    "require_consent": "policy",
    "revoke": "policy",
    "takedown_items": "policy",
    "takedown_queue": "policy",
    "find_by_content_id": "records",
    "stamp_file": "stamp",
    "FORMATS": "stamping",
    "parse_labels": "stamping",
    "StampOptions": "stamping",
    "error_result": "verify",
    "verify_file": "verify",
    "Clip": "video",
    "encode_mp4": "video",
    "FOURCC": "video",
    "check_video_mark": "videostamp",
    "decode_mp4": "videostamp",
    "stamp_clip": "videostamp",
    "VIDEO_MARGINS": "videostamp",
    "check_mark": "visible",
    "decode_payload": "watermark",
    "read_id": "watermark",
    "read_id_frames": "watermark",
    "SpreadSpectrumGrid": "watermark",
    "TooSmall": "watermark",
    "watermark_method": "watermark",
    "WATERMARKS": "watermark",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
