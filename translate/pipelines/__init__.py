"""Multi-stage jobs built only from the other rooms; each command that runs one is parse -> one call here.

* ``faceswap`` / ``faceswap_batch``: swap faces in videos and photos (``translate faceswap``);
* ``dance``: pose transfer on video (``translate dance``);
* ``pose_dataset``: a pose2frame dataset from a video (``translate poses extract``);
* ``pose_render``: stick figures from OpenPose keypoint files (``translate poses render``);
* ``hd_stages``: pix2pixHD's global -> local (-> face) training schedule (``translate train-hd``).
"""
