-- A material that an e-certificate or a data-sharing answer stood for (免提交): the
-- certificate's number, or the message id of the signed exchange (in the message log). Its
-- file is the certificate's PDF, or the answer as a 数据核验单 PDF, made at submission.
ALTER TABLE case_materials ADD COLUMN certificate TEXT;
ALTER TABLE case_materials ADD COLUMN exchange_message TEXT;
